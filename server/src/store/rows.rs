//! Entity models from rows read by [`InlineReads`](crate::db::InlineReads), the SQLite readers
//! that run on the calling thread, and from rows that statements of the writer thread's inline
//! connection return ([`crate::db::Exec::fetch`]). `prefix` is sea-orm's column prefix in a
//! two-entity select (`A_`, `B_`) or empty. The struct literals name every field, so a new
//! column fails to compile until it is read here; the unit tests (`rows_tests.rs`) compare each
//! inline read with sea-orm's own read of the same rows.

use std::marker::PhantomData;
use std::sync::OnceLock;

use entity::{account, ceremony, code_send, contact, passkey, session};
use rusqlite::{Row, types::FromSql};
use sea_orm::sea_query::{Value, Values};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryResult, QuerySelect, QueryTrait, Related, Statement,
};

use crate::db::Reads;

pub use crate::db::writes::Decode;

/// A select of `A` by one column's value, with its related `B` (sea-orm's
/// `find_also_related`, a left join), of which the first row counts. sea-orm builds the SQL
/// from the entities once per dialect, and later calls bind their value to that SQL: building
/// the select and rendering it took 27 % of the session check's instructions, more than the
/// indexed read itself (callgrind, docs/PERFORMANCE.md). The SQL is kept only when the value
/// is the statement's first bound one, so that it is the one replaced; the unit test
/// `reused_statements_are_what_sea_orm_builds` compares both with a fresh build.
pub struct PairBy<A: EntityTrait, B> {
    column: A::Column,
    /// SQLite's and PostgreSQL's SQL, with the values bound after the looked-up one.
    built: [OnceLock<(String, Vec<Value>)>; 2],
    related: PhantomData<fn() -> B>,
}

impl<A: EntityTrait + Related<B>, B: EntityTrait> PairBy<A, B> {
    pub const fn new(column: A::Column) -> Self {
        Self {
            column,
            built: [OnceLock::new(), OnceLock::new()],
            related: PhantomData,
        }
    }

    /// The statement that looks up `value`, in `backend`'s dialect.
    pub fn statement(&self, backend: DbBackend, value: Value) -> Statement {
        let slot = &self.built[usize::from(backend == DbBackend::Postgres)];
        if let Some((sql, rest)) = slot.get() {
            let values = std::iter::once(value).chain(rest.iter().cloned());
            return Statement {
                sql: sql.clone(),
                values: Some(Values(values.collect())),
                db_backend: backend,
            };
        }
        let statement = A::find()
            .filter(self.column.eq(value.clone()))
            .find_also_related(B::default())
            .limit(1)
            .build(backend);
        if let Some(Values(values)) = &statement.values
            && values.first() == Some(&value)
        {
            let _ = slot.set((statement.sql.clone(), values[1..].to_vec()));
        }
        statement
    }
}

/// The first row of a [`PairBy`] select that has both entities (a row without its `B` reads
/// as none): through the inline readers when `reads` has them (SQLite), else through the pinned
/// connections (PostgreSQL), else through sea-orm on the pool.
pub async fn find_pair<A: EntityTrait + Related<B>, B: EntityTrait>(
    reads: Reads<'_>,
    select: &PairBy<A, B>,
    value: impl Into<Value>,
    (a, b): (Decode<A::Model>, Decode<B::Model>),
) -> Result<Option<Pair<A, B>>, DbErr> {
    if let Some(inline) = reads.inline {
        let statement = select.statement(DbBackend::Sqlite, value.into());
        let rows = inline.query(&statement, |row| {
            if absent(row)? {
                return Ok(None);
            }
            Ok(Some((a(row, "A_")?, b(row, "B_")?)))
        })?;
        return Ok(rows.into_iter().next().flatten());
    }
    let row = if let Some(pinned) = reads.pinned {
        pinned
            .query_one(&select.statement(DbBackend::Postgres, value.into()))
            .await?
    } else {
        let backend = reads.pool.get_database_backend();
        reads
            .pool
            .query_one_raw(select.statement(backend, value.into()))
            .await?
    };
    let Some(row) = row else {
        return Ok(None);
    };
    pair_of::<A, B>(&row)
}

/// A model of `A` with its related model of `B`.
pub type Pair<A, B> = (<A as EntityTrait>::Model, <B as EntityTrait>::Model);

/// `A` and `B` from a row of sea-orm's, when it has both.
fn pair_of<A: EntityTrait, B: EntityTrait>(row: &QueryResult) -> Result<Option<Pair<A, B>>, DbErr> {
    let b = B::Model::from_query_result_optional(row, "B_")?;
    b.map(|b| A::Model::from_query_result(row, "A_").map(|a| (a, b)))
        .transpose()
}

/// Reads one model's columns from a row, in the order sea-orm selects them (an entity's columns
/// in declaration order), checking each column's name on the way. rusqlite's look-up by name
/// (`Statement::column_index`) compares the name with every column's name in turn: for the 22
/// columns of the session check's session-and-account row, those look-ups and the prefixed
/// names built for them were 15 % of the check's instructions (callgrind). A column that is
/// not where it is expected is still found by its name.
struct Cols<'r, 's, 'p> {
    row: &'r Row<'s>,
    prefix: &'p str,
    next: usize,
}

impl<'r, 's, 'p> Cols<'r, 's, 'p> {
    fn new(row: &'r Row<'s>, prefix: &'p str) -> Self {
        Self {
            row,
            prefix,
            next: 0,
        }
    }

    fn get<T: FromSql>(&mut self, column: &str) -> rusqlite::Result<T> {
        let statement = self.row.as_ref();
        let in_place = statement
            .column_name(self.next)
            .ok()
            .and_then(|name| name.strip_prefix(self.prefix))
            == Some(column);
        let index = if in_place {
            self.next
        } else {
            statement.column_index(&format!("{}{column}", self.prefix))?
        };
        self.next = index + 1;
        self.row.get(index)
    }
}

pub fn account(row: &Row<'_>, p: &str) -> rusqlite::Result<account::Model> {
    let mut c = Cols::new(row, p);
    Ok(account::Model {
        id: c.get("id")?,
        username: c.get("username")?,
        display_name: c.get("display_name")?,
        user_handle: c.get("user_handle")?,
        created_at: c.get("created_at")?,
        password_hash: c.get("password_hash")?,
        totp_secret: c.get("totp_secret")?,
        totp_enabled_at: c.get("totp_enabled_at")?,
        totp_last_step: c.get("totp_last_step")?,
        failed_attempts: c.get("failed_attempts")?,
        locked_until: c.get("locked_until")?,
        disabled: c.get("disabled")?,
    })
}

pub fn session(row: &Row<'_>, p: &str) -> rusqlite::Result<session::Model> {
    let mut c = Cols::new(row, p);
    Ok(session::Model {
        id: c.get("id")?,
        account_id: c.get("account_id")?,
        token_hash: c.get("token_hash")?,
        created_at: c.get("created_at")?,
        last_seen_at: c.get("last_seen_at")?,
        authenticated_at: c.get("authenticated_at")?,
        expires_at: c.get("expires_at")?,
        ip: c.get("ip")?,
        user_agent: c.get("user_agent")?,
        methods: c.get("methods")?,
    })
}

pub fn passkey(row: &Row<'_>, p: &str) -> rusqlite::Result<passkey::Model> {
    let mut c = Cols::new(row, p);
    Ok(passkey::Model {
        id: c.get("id")?,
        account_id: c.get("account_id")?,
        credential_id: c.get("credential_id")?,
        data: c.get("data")?,
        label: c.get("label")?,
        aaguid: c.get("aaguid")?,
        backup_eligible: c.get("backup_eligible")?,
        backup_state: c.get("backup_state")?,
        sign_count: c.get("sign_count")?,
        created_at: c.get("created_at")?,
        last_used_at: c.get("last_used_at")?,
    })
}

pub fn ceremony(row: &Row<'_>, p: &str) -> rusqlite::Result<ceremony::Model> {
    let mut c = Cols::new(row, p);
    Ok(ceremony::Model {
        id: c.get("id")?,
        kind: c.get("kind")?,
        account_id: c.get("account_id")?,
        session_id: c.get("session_id")?,
        username: c.get("username")?,
        state: c.get("state")?,
        code_hash: c.get("code_hash")?,
        attempts: c.get("attempts")?,
        created_at: c.get("created_at")?,
        expires_at: c.get("expires_at")?,
    })
}

pub fn contact(row: &Row<'_>, p: &str) -> rusqlite::Result<contact::Model> {
    let mut c = Cols::new(row, p);
    Ok(contact::Model {
        id: c.get("id")?,
        account_id: c.get("account_id")?,
        channel: c.get("channel")?,
        address: c.get("address")?,
        verified_at: c.get("verified_at")?,
    })
}

pub fn code_send(row: &Row<'_>, p: &str) -> rusqlite::Result<code_send::Model> {
    let mut c = Cols::new(row, p);
    Ok(code_send::Model {
        id: c.get("id")?,
        target: c.get("target")?,
        sent_at: c.get("sent_at")?,
    })
}

/// The one column `n` of a count (`SELECT COUNT(*) AS n …`, see [`super::count`]).
#[derive(Clone, Copy, Debug, sea_orm::FromQueryResult)]
pub struct Count {
    pub n: i64,
}

pub fn count(row: &Row<'_>, p: &str) -> rusqlite::Result<Count> {
    let mut c = Cols::new(row, p);
    Ok(Count { n: c.get("n")? })
}

/// Whether the `B_` entity of a two-entity select is absent (its left join found no row).
pub fn absent(row: &Row<'_>) -> rusqlite::Result<bool> {
    Ok(row.get::<_, Option<uuid::Uuid>>("B_id")?.is_none())
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
