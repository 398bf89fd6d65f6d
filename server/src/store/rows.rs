//! Entity models from rows read by [`InlineReads`](crate::db::InlineReads), the SQLite readers
//! that run on the calling thread, and from rows that statements of the writer thread's inline
//! connection return ([`crate::db::Exec::fetch`]). `prefix` is sea-orm's column prefix in a
//! two-entity select (`A_`, `B_`) or empty. The struct literals name every field, so a new column fails to
//! compile until it is read here; the unit test below compares each inline read with sea-orm's
//! own read of the same rows.

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
        } else if self.prefix.is_empty() {
            statement.column_index(column)?
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
#[allow(clippy::unwrap_used)]
mod tests {
    use entity::{contact, recovery_code};
    use sea_orm::{ActiveModelTrait, DatabaseConnection};
    use uuid::Uuid;

    use super::*;
    use crate::db::{InlineReads, Reads};
    use crate::store;

    fn account(username: &str, disabled: bool) -> account::Model {
        account::Model {
            id: Uuid::new_v4(),
            username: username.into(),
            display_name: "Ada".into(),
            user_handle: Uuid::new_v4(),
            created_at: 1,
            password_hash: Some("$argon2id$…".into()),
            totp_secret: Some(vec![1, 2, 3]),
            totp_enabled_at: None,
            totp_last_step: Some(-7),
            failed_attempts: 3,
            locked_until: None,
            disabled,
        }
    }

    fn passkey(account_id: Uuid, n: u8, created_at: i64) -> passkey::Model {
        passkey::Model {
            id: Uuid::new_v4(),
            account_id,
            credential_id: vec![n; 16],
            data: format!("{{\"n\":{n}}}"),
            label: format!("key {n}"),
            aaguid: n.is_multiple_of(2).then(Uuid::new_v4),
            backup_eligible: true,
            backup_state: n.is_multiple_of(2),
            sign_count: i64::from(n) * 1000,
            created_at,
            last_used_at: (n > 1).then_some(99),
        }
    }

    async fn insert<A>(db: &DatabaseConnection, row: A)
    where
        A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
        <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    {
        row.insert(db).await.unwrap();
    }

    /// Columns are read in sea-orm's order when they are there, and found by name when they
    /// are not (another order, other columns before them, a prefix).
    #[test]
    fn columns_out_of_order_are_found_by_name() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let id = Uuid::new_v4();
        let expected = code_send::Model {
            id,
            target: "email:ada@example.com".into(),
            sent_at: 42,
        };
        for (sql, prefix) in [
            ("SELECT ?1 AS id, ?2 AS target, ?3 AS sent_at", ""),
            ("SELECT ?3 AS sent_at, ?2 AS target, ?1 AS id", ""),
            (
                "SELECT 7 AS A_id, ?2 AS B_target, ?1 AS B_id, ?3 AS B_sent_at",
                "B_",
            ),
        ] {
            let got = conn
                .query_row(sql, rusqlite::params![id, expected.target, 42], |row| {
                    code_send(row, prefix)
                })
                .unwrap();
            assert_eq!(got, expected, "{sql}");
        }
    }

    /// A [`PairBy`] statement is what sea-orm builds for the same select, in both dialects,
    /// for the first value and for every later one (bound to the SQL kept from the first).
    #[test]
    fn reused_statements_are_what_sea_orm_builds() {
        fn check<A: EntityTrait + Related<B>, B: EntityTrait>(
            select: &PairBy<A, B>,
            column: A::Column,
        ) {
            for (slot, backend) in [DbBackend::Sqlite, DbBackend::Postgres]
                .into_iter()
                .enumerate()
            {
                for value in [vec![1_u8; 32], vec![2; 16], vec![]] {
                    let fresh = A::find()
                        .filter(column.eq(value.clone()))
                        .find_also_related(B::default())
                        .limit(1)
                        .build(backend);
                    let reused = select.statement(backend, value.into());
                    assert_eq!(reused.db_backend, backend);
                    assert_eq!((reused.sql, reused.values), (fresh.sql, fresh.values));
                }
                assert!(
                    select.built[slot].get().is_some(),
                    "{backend:?}: SQL not kept"
                );
            }
        }
        check(
            &PairBy::<session::Entity, account::Entity>::new(session::Column::TokenHash),
            session::Column::TokenHash,
        );
        check(
            &PairBy::<passkey::Entity, account::Entity>::new(passkey::Column::CredentialId),
            passkey::Column::CredentialId,
        );
    }

    /// Every read that can run on SQLite's inline readers gives exactly what sea-orm's own read
    /// of the same rows gives, for rows with and without NULLs, joins with and without a
    /// partner row, and none found.
    #[tokio::test]
    async fn inline_reads_give_what_sea_orm_gives() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db", dir.path().display());
        let db = crate::db::connect(&url, 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let inline: std::sync::Arc<InlineReads> = crate::db::connect_inline(&url).unwrap().unwrap();
        let pooled = Reads::pooled(&db);
        let fast = Reads {
            pool: &db,
            inline: Some(&inline),
            pinned: None,
        };

        let ada = account("ada", true);
        let bob = account("bob", false);
        insert(&db, account::ActiveModel::from(ada.clone())).await;
        insert(&db, account::ActiveModel::from(bob.clone())).await;
        let keys = [passkey(ada.id, 1, 20), passkey(ada.id, 2, 10)];
        for key in &keys {
            insert(&db, passkey::ActiveModel::from(key.clone())).await;
        }
        let session = session::Model {
            id: Uuid::new_v4(),
            account_id: ada.id,
            token_hash: vec![9; 32],
            created_at: 10,
            last_seen_at: 11,
            authenticated_at: 12,
            expires_at: 13,
            ip: None,
            user_agent: Some("UA".into()),
            methods: "passkey".into(),
        };
        insert(&db, session::ActiveModel::from(session.clone())).await;
        insert(
            &db,
            contact::ActiveModel::from(contact::Model {
                id: Uuid::new_v4(),
                account_id: ada.id,
                channel: "email".into(),
                address: "ada@example.com".into(),
                verified_at: 5,
            }),
        )
        .await;
        for used_at in [None, Some(3), None] {
            insert(
                &db,
                recovery_code::ActiveModel::from(recovery_code::Model {
                    id: Uuid::new_v4(),
                    account_id: ada.id,
                    lookup: Uuid::new_v4().as_bytes()[..4].to_vec(),
                    code_hash: "h".into(),
                    created_at: 1,
                    used_at,
                }),
            )
            .await;
        }

        for hash in [[9; 32], [8; 32]] {
            let expected = store::sessions::find_by_token_hash(pooled, &hash)
                .await
                .unwrap();
            let got = store::sessions::find_by_token_hash(fast, &hash)
                .await
                .unwrap();
            assert_eq!(got, expected);
        }
        assert_eq!(
            store::sessions::find_by_token_hash(fast, &[9; 32])
                .await
                .unwrap(),
            Some((session, ada.clone()))
        );

        for id in [vec![1; 16], vec![2; 16], vec![3; 16]] {
            let expected = store::passkeys::find_with_account(pooled, &id)
                .await
                .unwrap();
            let got = store::passkeys::find_with_account(fast, &id).await.unwrap();
            assert_eq!(got, expected);
        }
        assert_eq!(
            store::passkeys::find_with_account(fast, &[1; 16])
                .await
                .unwrap(),
            Some((keys[0].clone(), ada.clone()))
        );

        for name in ["ada", "bob", "eve"] {
            let expected = store::accounts::find_by_username_with_passkeys(pooled, name)
                .await
                .unwrap();
            let got = store::accounts::find_by_username_with_passkeys(fast, name)
                .await
                .unwrap();
            assert_eq!(got, expected);
        }
        assert_eq!(
            store::accounts::find_by_username_with_passkeys(fast, "ada")
                .await
                .unwrap(),
            Some((ada.clone(), vec![keys[1].clone(), keys[0].clone()]))
        );
        assert_eq!(
            store::accounts::find_by_username_with_passkeys(fast, "bob")
                .await
                .unwrap(),
            Some((bob.clone(), vec![]))
        );

        for who in [&ada, &bob] {
            let expected = crate::service::accounts::view(pooled, who).await.unwrap();
            let got = crate::service::accounts::view(fast, who).await.unwrap();
            assert_eq!(format!("{got:?}"), format!("{expected:?}"));
        }
        let view = crate::service::accounts::view(fast, &ada).await.unwrap();
        assert_eq!(
            (view.passkeys, view.contacts, view.recovery_codes_remaining),
            (2, 1, 2)
        );
    }
}
