//! Sessions. Only the SHA-256 of a token is stored.

use entity::{account, session};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, DeleteMany, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, LockType},
};
use uuid::Uuid;

use super::rows;
use crate::db::{Exec, Reads};

/// Insert a new session; how many other sessions its account has, counted in the same
/// statement (`INSERT … RETURNING (SELECT COUNT(*) … WHERE account_id = ? AND id <> ?)`,
/// through `idx_session_account`), so that the session limit costs a statement of its own
/// only when it is reached ([`end_beyond_limit`]): a round trip less per log-in on PostgreSQL,
/// whose CPU bounds the log-ins (performance-history.md, item 66). The new row is left out of
/// the count by its id: PostgreSQL's subquery would not see it, SQLite's might. The count is
/// read by position: sea-query writes a `RETURNING` expression without an alias.
pub async fn insert_counting_others<C: Exec>(db: &C, model: session::Model) -> Result<u64, DbErr> {
    use sea_orm::{IntoActiveModel, sea_query::Query};
    let others = session::Entity::find()
        .select_only()
        .expr(Expr::cust("COUNT(*)"))
        .filter(session::Column::AccountId.eq(model.account_id))
        .filter(session::Column::Id.ne(model.id))
        .into_query();
    let mut insert = sea_orm::Insert::one(model.into_active_model()).into_query();
    insert.returning(Query::returning().expr(Expr::SubQuery(None, Box::new(others.into()))));
    let counted = db
        .fetch(db.backend().build(&insert), |row, _| {
            Ok(FirstCount(row.get(0)?))
        })
        .await?;
    Ok(counted.first().map_or(0, |c| c.0.max(0) as u64))
}

/// The first column of a row, a count.
struct FirstCount(i64);

impl sea_orm::FromQueryResult for FirstCount {
    fn from_query_result(row: &sea_orm::QueryResult, _: &str) -> Result<Self, DbErr> {
        row.try_get_by_index(0).map(Self)
    }
}

/// The session for a token hash with its account: one indexed read (a join on the primary key),
/// on the calling thread when `reads` has SQLite's inline readers.
pub async fn find_by_token_hash(
    reads: Reads<'_>,
    token_hash: &[u8],
) -> Result<Option<(session::Model, account::Model)>, DbErr> {
    rows::find_pair(reads, &BY_TOKEN_HASH, token_hash).await
}

static BY_TOKEN_HASH: rows::PairBy<session::Entity, account::Entity> =
    rows::PairBy::new(session::Column::TokenHash);

/// Inside the write transaction of a change that session `id` makes to its account: whether
/// the session still exists. A session checked when its request came in may have been ended
/// since (signed out by the account's owner while this request hashed a password, say); its
/// change must then not be made. On PostgreSQL the row is locked `FOR KEY SHARE`: a
/// revocation's `DELETE` waits until this transaction ends, and one that committed first
/// leaves no row to find (READ COMMITTED reads the latest committed row). SQLite's write
/// transactions are `BEGIN IMMEDIATE`, one at a time. The activity touch (`UPDATE` of
/// `last_seen_at`) does not conflict with the lock.
pub async fn hold<C: Exec>(db: &C, account_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let mut query = session::Entity::find()
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::AccountId.eq(account_id));
    if db.backend() == DbBackend::Postgres {
        query = query.lock(LockType::KeyShare);
    }
    let found = db.fetch(query.build(db.backend()), rows::session).await?;
    Ok(!found.is_empty())
}

/// Record activity, when the stored time is at least `stale_ms` old (the caller checked it
/// too; concurrent checks then write once).
pub async fn touch<C: Exec>(db: &C, id: Uuid, now: i64, stale_ms: i64) -> Result<(), DbErr> {
    let update = session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::LastSeenAt.lte(now - stale_ms));
    db.exec_query(&update).await?;
    Ok(())
}

/// Re-authentication: a new token for the same session, a fresh authentication time.
pub async fn rotate<C: Exec>(
    db: &C,
    id: Uuid,
    old_token_hash: &[u8],
    new_token_hash: Vec<u8>,
    methods: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let update = session::Entity::update_many()
        .col_expr(session::Column::TokenHash, Expr::value(new_token_hash))
        .col_expr(session::Column::AuthenticatedAt, Expr::value(now))
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .col_expr(session::Column::Methods, Expr::value(methods))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::TokenHash.eq(old_token_hash.to_vec()));
    Ok(db.exec_query(&update).await? == 1)
}

pub async fn list_for_account<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    now: i64,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::ExpiresAt.gt(now))
        .order_by_desc(session::Column::LastSeenAt)
        .all(db)
        .await
}

/// End the sessions of an account beyond its `limit` of sessions (at least 1), the least
/// recently used first, never `new` (the session just issued, counted in the limit); at most
/// [`super::CLEAN_UP_BATCH`] at a time. How many ended.
pub async fn end_beyond_limit<C: Exec>(
    db: &C,
    account_id: Uuid,
    new: Uuid,
    limit: u32,
) -> Result<u64, DbErr> {
    db.exec_query(&beyond_limit(db.backend(), account_id, new, limit))
        .await
}

/// [`end_beyond_limit`]'s statement, through `idx_session_account`: the account's sessions
/// ranked by their last use (`ORDER BY last_seen_at DESC, id DESC LIMIT 500 OFFSET limit -
/// 1`), read once ([`super::id_among`]), deleted. No `FOR UPDATE` in the ranking: on
/// PostgreSQL it would lock the sessions kept as well, and their activity touches would wait
/// for the log-in's commit. The delete waits for a session another transaction holds (an
/// account change, a few hundred milliseconds at most). It runs only when the account is past
/// its limit ([`insert_counting_others`]).
pub fn beyond_limit(
    backend: DbBackend,
    account_id: Uuid,
    new: Uuid,
    limit: u32,
) -> DeleteMany<session::Entity> {
    let ranked = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::Id.ne(new))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::Id)
        .limit(super::CLEAN_UP_BATCH)
        .offset(u64::from(limit.saturating_sub(1)))
        .into_query();
    session::Entity::delete_many().filter(super::id_among(backend, session::Column::Id, ranked))
}

/// Delete one session of an account; false when there is no such session *of that account*.
pub async fn delete<C: Exec>(db: &C, account_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let delete = session::Entity::delete_many()
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::AccountId.eq(account_id));
    Ok(db.exec_query(&delete).await? == 1)
}

/// Whether the session `id` of `account_id` still exists.
pub async fn exists<C: Exec>(db: &C, account_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let query = session::Entity::find_by_id(id)
        .filter(session::Column::AccountId.eq(account_id))
        .build(db.backend());
    Ok(!db.fetch(query, rows::session).await?.is_empty())
}

/// Delete every session of an account except `keep`; returns how many ended.
pub async fn delete_others<C: Exec>(db: &C, account_id: Uuid, keep: Uuid) -> Result<u64, DbErr> {
    let delete = session::Entity::delete_many()
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::Id.ne(keep));
    db.exec_query(&delete).await
}

/// End every session of the account; how many ended.
pub async fn delete_all<C: Exec>(db: &C, account_id: Uuid) -> Result<u64, DbErr> {
    let delete = session::Entity::delete_many().filter(session::Column::AccountId.eq(account_id));
    db.exec_query(&delete).await
}

/// Remove at most [`super::CLEAN_UP_BATCH`] sessions past their absolute or idle end; how many
/// went. Safe to run from every instance.
pub async fn delete_expired<C: Exec>(db: &C, now: i64, idle_ms: i64) -> Result<u64, DbErr> {
    db.exec_query(&expired(db.backend(), now, idle_ms, super::CLEAN_UP_BATCH))
        .await
}

/// At most `batch` sessions past their lifetime or idle for `idle_ms` (`id IN (SELECT id …
/// LIMIT batch)`): each condition has its index (`idx_session_expires`,
/// `idx_session_last_seen`), so the clean-up reads only what it deletes.
pub fn expired(
    backend: DbBackend,
    now: i64,
    idle_ms: i64,
    batch: u64,
) -> DeleteMany<session::Entity> {
    let ended = session::Entity::find().filter(
        Condition::any()
            .add(session::Column::ExpiresAt.lte(now))
            .add(session::Column::LastSeenAt.lte(now.saturating_sub(idle_ms))),
    );
    super::delete_batch(backend, ended, session::Column::Id, batch)
}
