//! Storage: one module per aggregate over SeaORM. Functions are generic over
//! `ConnectionTrait`, so a service can pass a transaction or the pool; those a log-in writes
//! with are generic over [`crate::db::Exec`], which also takes the writer thread's inline
//! SQLite connection ([`crate::db::WriteConn`], [`crate::db::WriteTxn`]).

pub mod accounts;
pub mod ceremonies;
pub mod code_sends;
pub mod contacts;
pub mod devices;
pub mod events;
pub mod passkeys;
pub mod recovery_codes;
pub mod rows;
pub mod sessions;

/// Rows one statement of the once-a-minute clean-up deletes at most (expired ceremonies and
/// sessions, old sent-code records, events past their retention): each batch is a write of
/// its own, short under the writer's lock and PostgreSQL's 10 s statement timeout, however
/// large a backlog (`startup::cleanup`). 500 events held SQLite's write lock 9–48 ms, a WAL
/// checkpoint included, where 5,000 held it 130–170 ms, so log-ins queued behind a batch wait
/// little (docs/performance-history.md, item 38).
pub const CLEAN_UP_BATCH: u64 = 500;

/// `RETURNING` each column of `E` by name, never `RETURNING *`: PostgreSQL fixes the result
/// columns of a prepared statement (sqlx keeps one per connection), so once a migration adds a
/// column, a cached `RETURNING *` fails ("cached plan must not change result type") on every
/// instance still running the version before, until its connections are replaced: the rolling
/// upgrade DEPLOY.md describes would answer 500 there.
pub(crate) fn every_column<E: sea_orm::EntityTrait>() -> sea_orm::sea_query::ReturningClause {
    use sea_orm::Iterable;
    sea_orm::sea_query::Query::returning().columns(E::Column::iter())
}

/// At most `batch` of `rows`: `DELETE FROM t WHERE id IN (SELECT id FROM t WHERE … LIMIT
/// batch)`. The subquery reads the index of its condition, so only the rows it deletes
/// (SQLite has no `DELETE … LIMIT` unless built with `SQLITE_ENABLE_UPDATE_DELETE_LIMIT`;
/// PostgreSQL has none).
///
/// On PostgreSQL the subquery locks the rows it picks `FOR UPDATE SKIP LOCKED`: rows another
/// transaction holds are left to a later run instead of waited for. Every instance runs the
/// clean-up once a minute, and two plain deletes over the same rows, each locking them in its
/// own order, can deadlock (40P01; both then wait for the next minute); an account
/// change holds its session `FOR KEY SHARE` while it hashes (`account_sessions::begin_change`),
/// and the clean-up waited for that too. With `SKIP LOCKED` the clean-up never waits for a
/// row lock, so it is in no deadlock and holds up no one (PostgreSQL, SELECT, "The Locking
/// Clause"). SQLite has no row locks: sea-query writes no clause there. The ids are read once
/// ([`id_among`]).
pub(crate) fn delete_batch<E: sea_orm::EntityTrait>(
    backend: sea_orm::DbBackend,
    rows: sea_orm::Select<E>,
    id: E::Column,
    batch: u64,
) -> sea_orm::DeleteMany<E> {
    use sea_orm::sea_query::{LockBehavior, LockType};
    use sea_orm::{QueryFilter, QuerySelect, QueryTrait};
    let ids = rows
        .select_only()
        .column(id)
        .limit(batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    E::delete_many().filter(id_among(backend, id, ids))
}

/// `id IN (ids)`, with `ids` run once. On PostgreSQL as `id = ANY(ARRAY(ids))`, an `InitPlan`:
/// as `IN (…)` the planner may make the subquery the inner side of a nested-loop semi-join and
/// run it again for each outer row, and a `LIMIT … SKIP LOCKED` subquery run again can pick
/// other rows, so one statement could delete more than its batch, or rows its `OFFSET` keeps.
pub(crate) fn id_among<C: sea_orm::ColumnTrait>(
    backend: sea_orm::DbBackend,
    id: C,
    ids: sea_orm::sea_query::SelectStatement,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::Expr;
    match backend {
        // One custom expression: as the right side of `.eq(…)` sea-query would put the
        // `ANY` in parentheses, which PostgreSQL refuses.
        sea_orm::DbBackend::Postgres => Expr::cust_with_exprs(
            "$1 = ANY(ARRAY($2))",
            [Expr::col(id), Expr::SubQuery(None, Box::new(ids.into()))],
        ),
        _ => id.in_subquery(ids),
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod events_tests;
#[cfg(test)]
#[path = "plan_tests.rs"]
mod plan_tests;

/// Is this error a unique-constraint violation (on either database, through sqlx or the
/// writer thread's inline SQLite connection)?
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) || crate::db::is_inline_unique_violation(err)
}

/// Insert `model` with every column as given, and return it (no `RETURNING`: nothing is
/// filled in by the database).
pub async fn insert_row<C, A>(
    db: &C,
    model: <A::Entity as sea_orm::EntityTrait>::Model,
) -> Result<<A::Entity as sea_orm::EntityTrait>::Model, sea_orm::DbErr>
where
    C: crate::db::Exec,
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::IntoActiveModel;
    let insert = sea_orm::Insert::one(model.clone().into_active_model());
    db.exec_query(&insert).await?;
    Ok(model)
}

/// How many rows `select` finds, through any [`crate::db::Exec`] (inside a write: as its
/// transaction sees them).
pub async fn count<C, E>(db: &C, select: sea_orm::Select<E>) -> Result<u64, sea_orm::DbErr>
where
    C: crate::db::Exec,
    E: sea_orm::EntityTrait,
{
    use sea_orm::{QuerySelect, QueryTrait, sea_query::Expr};
    let query = select
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .build(db.backend());
    let counted = db.fetch(query, rows::count).await?;
    Ok(counted.first().map_or(0, |c| c.n.max(0) as u64))
}

/// Begin a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`, taking the write
/// lock at once: a deferred transaction that reads first and writes later can fail with
/// `SQLITE_BUSY` when another writer got in between, which the busy timeout cannot fix.
pub async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{DbBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    let options = TransactionOptions {
        sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let begin = || db.begin_with_options(options);
    if sqlite {
        return begin().await;
    }
    // PostgreSQL: a `BEGIN` that found its connection closed by the server (a fail-over, a
    // restart) has done nothing, and is sent again on a tested connection (`db::liveness`).
    crate::db::liveness::repeat_if_lost(begin).await
}
