//! Entity models from rows read by [`InlineReads`](crate::db::InlineReads), the SQLite readers
//! that run on the calling thread, and from rows that statements of the writer thread's inline
//! connection return ([`crate::db::Exec::fetch`]). `prefix` is sea-orm's column prefix in a
//! two-entity select (`A_`, `B_`) or empty. The decoders ([`models`]) name every field, so a new
//! column fails to compile until it is read there; the unit tests (`rows_tests.rs`) compare each
//! inline read with sea-orm's own read of the same rows.

use std::marker::PhantomData;
use std::sync::OnceLock;

use rusqlite::{Row, types::FromSql};
use sea_orm::sea_query::{Expr, ExprTrait, Value, Values, extension::postgres::PgFunc};
use sea_orm::sqlx::{self, Column as _, Postgres, Row as _, postgres::PgRow};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic,
    QueryFilter, QueryResult, QuerySelect, QueryTrait, Related, Statement,
};

use crate::db::{Reads, pinned::ByKey};

pub use crate::db::writes::Decode;

/// A select of `A` by one column's value, with its related `B` (sea-orm's
/// `find_also_related`, a left join), of which the first row counts. sea-orm builds the SQL
/// from the entities once per dialect, and later calls bind their value to that SQL: building
/// the select and rendering it took 27 % of the session check's instructions, more than the
/// indexed read itself (callgrind, docs/performance-history.md). The SQL is kept only when the
/// value is the statement's first bound one, so that it is the one replaced; the unit test
/// `reused_statements_are_what_sea_orm_builds` compares both with a fresh build.
pub struct PairBy<A: EntityTrait, B> {
    column: A::Column,
    /// SQLite's and PostgreSQL's SQL, with the values bound after the looked-up one.
    built: [OnceLock<(String, Vec<Value>)>; 2],
    /// Per dialect, where the `B_` columns start, once a row of the built SQL was read with
    /// every column where [`Cols`] expects it: the SQL never changes after it is built, so
    /// neither do its columns, and later rows are read without checking their names.
    layout: [OnceLock<usize>; 2],
    /// PostgreSQL's look-ups by the column on the pinned connections ([`PairBy::by_key`]).
    by_key: OnceLock<ByKey>,
    related: PhantomData<fn() -> B>,
}

impl<A: EntityTrait + Related<B>, B: EntityTrait> PairBy<A, B> {
    pub const fn new(column: A::Column) -> Self {
        Self {
            column,
            built: [OnceLock::new(), OnceLock::new()],
            layout: [OnceLock::new(), OnceLock::new()],
            by_key: OnceLock::new(),
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

    /// PostgreSQL's selects of the rows whose column is `$1`, and whose column is `= ANY($1)`
    /// (`$1` an array of values), without a limit (the column is unique), and the name of the
    /// column in their rows (`A_…`): what the pinned connections read look-ups with, one or a
    /// batch at a time ([`PinnedReads::query_by_key`](crate::db::PinnedReads::query_by_key)).
    /// Their columns are those of [`PairBy::statement`]'s. sea-orm builds them from the
    /// entities, once.
    pub fn by_key(&self) -> &ByKey {
        self.by_key.get_or_init(|| {
            let column = Expr::col((A::default(), self.column));
            let build = |condition: Expr| {
                let statement = A::find()
                    .filter(condition)
                    .find_also_related(B::default())
                    .build(DbBackend::Postgres);
                debug_assert!(statement.values.as_ref().is_none_or(|v| v.0.is_empty()));
                statement.sql
            };
            ByKey {
                one: build(column.clone().eq(Expr::cust("$1"))),
                any: build(column.eq(PgFunc::any(Expr::cust("$1")))),
                key_column: format!("A_{}", self.column.as_str()),
            }
        })
    }
}

/// The row of a [`PairBy`] select with the unique `key` that has both entities (a row without
/// its `B` reads as none): through the inline readers when `reads` has them (SQLite), else
/// through the pinned connections with the look-ups waiting for one (PostgreSQL), both read by
/// position ([`FromColumns`]), else through sea-orm on the pool.
pub async fn find_pair<A: EntityTrait + Related<B>, B: EntityTrait>(
    reads: Reads<'_>,
    select: &'static PairBy<A, B>,
    key: &[u8],
) -> Result<Option<Pair<A, B>>, DbErr>
where
    A::Model: FromColumns,
    B::Model: FromColumns,
{
    if let Some(inline) = reads.inline {
        let statement = select.statement(DbBackend::Sqlite, key.to_vec().into());
        let layout = &select.layout[0];
        let rows = inline.query(&statement, |row| pair_from(row, layout))?;
        return Ok(rows.into_iter().next().flatten());
    }
    if let Some(pinned) = reads.pinned {
        let Some(row) = pinned.query_by_key(select.by_key(), key).await? else {
            return Ok(None);
        };
        return pair_from(&row, &select.layout[1]).map_err(crate::db::pinned::query_err);
    }
    let backend = reads.pool.get_database_backend();
    let statement = select.statement(backend, key.to_vec().into());
    let row = reads.pool.query_one_raw(statement).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    pair_of::<A, B>(&row)
}

/// `A` (columns `A_…`) and `B` (`B_…`) from a row, when it has both.
fn pair_from<R: Columns, A: FromColumns, B: FromColumns>(
    row: &R,
    layout: &OnceLock<usize>,
) -> Result<Option<(A, B)>, R::Error> {
    let checked = layout.get().copied();
    let b_start = match checked {
        Some(b_start) => b_start,
        None => row.position("B_id")?,
    };
    if row.value::<Option<uuid::Uuid>>(b_start)?.is_none() {
        return Ok(None);
    }
    if checked.is_some() {
        let a = A::read(&mut Cols::trusted(row, 0))?;
        let b = B::read(&mut Cols::trusted(row, b_start))?;
        return Ok(Some((a, b)));
    }
    let (mut a_cols, mut b_cols) = (Cols::new(row, "A_"), Cols::new(row, "B_"));
    b_cols.next = b_start;
    let pair = (A::read(&mut a_cols)?, B::read(&mut b_cols)?);
    if a_cols.in_place && b_cols.in_place && a_cols.next == b_start {
        let _ = layout.set(b_start);
    }
    Ok(Some(pair))
}

/// A model of `A` with its related model of `B`.
pub type Pair<A, B> = (<A as EntityTrait>::Model, <B as EntityTrait>::Model);

/// `A` and `B` from a row of sea-orm's, when it has both.
fn pair_of<A: EntityTrait, B: EntityTrait>(row: &QueryResult) -> Result<Option<Pair<A, B>>, DbErr> {
    let b = B::Model::from_query_result_optional(row, "B_")?;
    b.map(|b| A::Model::from_query_result(row, "A_").map(|a| (a, b)))
        .transpose()
}

/// A row that the decoders read by position: SQLite's (rusqlite) or PostgreSQL's (sqlx).
pub trait Columns {
    type Error;
    /// The name of column `i`, if there is one.
    fn name(&self, i: usize) -> Option<&str>;
    /// The position of the column called `name`.
    fn position(&self, name: &str) -> Result<usize, Self::Error>;
    /// Column `i`'s value.
    fn value<T: Column>(&self, i: usize) -> Result<T, Self::Error>;
}

/// A type that both kinds of row decode: every field type of the entities.
pub trait Column: FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> {}

impl<T: FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>> Column for T {}

impl Columns for Row<'_> {
    type Error = rusqlite::Error;
    fn name(&self, i: usize) -> Option<&str> {
        self.as_ref().column_name(i).ok()
    }
    fn position(&self, name: &str) -> rusqlite::Result<usize> {
        self.as_ref().column_index(name)
    }
    fn value<T: Column>(&self, i: usize) -> rusqlite::Result<T> {
        self.get(i)
    }
}

impl Columns for PgRow {
    type Error = sqlx::Error;
    fn name(&self, i: usize) -> Option<&str> {
        self.columns().get(i).map(|c| c.name())
    }
    fn position(&self, name: &str) -> Result<usize, sqlx::Error> {
        self.columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))
    }
    fn value<T: Column>(&self, i: usize) -> Result<T, sqlx::Error> {
        self.try_get(i)
    }
}

/// A model read from a row by position, its columns prefixed with `prefix` (`A_`, `B_` or
/// none).
pub trait FromColumns: Sized {
    /// The model from `c`'s row, its columns in declaration order from `c`'s position.
    fn read<R: Columns>(c: &mut Cols<'_, '_, R>) -> Result<Self, R::Error>;

    fn from_columns<R: Columns>(row: &R, prefix: &str) -> Result<Self, R::Error> {
        Self::read(&mut Cols::new(row, prefix))
    }
}

/// Reads one model's columns from a row, in the order sea-orm selects them (an entity's columns
/// in declaration order), checking each column's name on the way. rusqlite's look-up by name
/// (`Statement::column_index`) compares the name with every column's name in turn: for the 22
/// columns of the session check's session-and-account row, those look-ups and the prefixed
/// names built for them were 15 % of the check's instructions (callgrind); on PostgreSQL,
/// sea-orm's `FromQueryResult` by prefixed name was 22 %. A column that is not where it is
/// expected is still found by its name. A [`PairBy`] row whose layout was checked once is
/// read [`trusted`](Cols::trusted), by position alone: checking the names (rusqlite fetches
/// and UTF-8-checks each one) was another 4 % of a session check.
pub struct Cols<'r, 'p, R> {
    row: &'r R,
    prefix: &'p str,
    next: usize,
    /// Read by position without looking at the names.
    trusted: bool,
    /// Every column so far was where it was expected.
    in_place: bool,
}

impl<'r, 'p, R: Columns> Cols<'r, 'p, R> {
    fn new(row: &'r R, prefix: &'p str) -> Self {
        Self {
            row,
            prefix,
            next: 0,
            trusted: false,
            in_place: true,
        }
    }

    /// Columns from position `start` on, of a layout already checked.
    fn trusted(row: &'r R, start: usize) -> Self {
        Self {
            row,
            prefix: "",
            next: start,
            trusted: true,
            in_place: true,
        }
    }

    fn get<T: Column>(&mut self, column: &str) -> Result<T, R::Error> {
        let in_place = self.trusted
            || self
                .row
                .name(self.next)
                .and_then(|name| name.strip_prefix(self.prefix))
                == Some(column);
        let index = if in_place {
            self.next
        } else {
            self.in_place = false;
            self.row.position(&format!("{}{column}", self.prefix))?
        };
        self.next = index + 1;
        self.row.value(index)
    }
}

/// Whether the `B_` entity of a two-entity select is absent (its left join found no row).
pub fn absent<R: Columns>(row: &R) -> Result<bool, R::Error> {
    let id = row.position("B_id")?;
    Ok(row.value::<Option<uuid::Uuid>>(id)?.is_none())
}

mod models;
pub use models::*;

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
