//! The security activity log.

use entity::event;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, DeleteMany, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Query, SelectStatement},
};
use uuid::Uuid;

use crate::{
    db::{Exec, Reads},
    extract::ClientInfo,
};

pub async fn insert<C: Exec>(
    db: &C,
    account_id: Uuid,
    kind: &str,
    client: &ClientInfo,
    detail: serde_json::Value,
    now: i64,
) -> Result<(), DbErr> {
    let row = event::Model {
        id: Uuid::new_v4(),
        account_id,
        at: now,
        kind: kind.to_owned(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        detail: detail.to_string(),
    };
    super::insert_row::<_, event::ActiveModel>(db, row).await?;
    Ok(())
}

/// Delete at most `batch` events older than `cutoff` (the retention period,
/// `SESAME_EVENT_RETENTION_DAYS`); how many went. Safe to run from every instance at once.
pub async fn delete_older_than<C: Exec>(db: &C, cutoff: i64, batch: u64) -> Result<u64, DbErr> {
    db.exec_query(&older_than(db.backend(), cutoff, batch))
        .await
}

/// At most `batch` events older than `cutoff` ([`super::delete_batch`], through
/// `idx_event_at`).
pub(crate) fn older_than(backend: DbBackend, cutoff: i64, batch: u64) -> DeleteMany<event::Entity> {
    let old = event::Entity::find().filter(event::Column::At.lt(cutoff));
    super::delete_batch(backend, old, event::Column::Id, batch)
}

/// Newest first (by time, then id); `before` pages backwards: only events strictly older
/// than a time stamp, or, with an id, strictly after the event `(at, id)` in that order, so
/// that events written in the same millisecond (a sign-up writes three) are neither skipped
/// nor repeated across pages.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    limit: u64,
    before: Option<(i64, Option<Uuid>)>,
) -> Result<Vec<event::Model>, DbErr> {
    let mut query = event::Entity::find().filter(event::Column::AccountId.eq(account_id));
    match before {
        Some((at, None)) => query = query.filter(event::Column::At.lt(at)),
        Some((at, Some(id))) => {
            query = query.filter(
                Condition::any().add(event::Column::At.lt(at)).add(
                    Condition::all()
                        .add(event::Column::At.eq(at))
                        .add(event::Column::Id.lt(id)),
                ),
            );
        }
        None => {}
    }
    query
        .order_by_desc(event::Column::At)
        .order_by_desc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// How many of an account's most recent events the new-device check looks at
/// ([`has_login_from`]): about 0.3 ms of reading at most (docs/performance-history.md, item 37).
pub const NEW_DEVICE_WINDOW: u64 = 1_000;

/// Was there a `login` event of the account from exactly this IP address and user agent
/// among its `window` most recent events before `before`? (An absent IP or user agent matches
/// only an absent one.)
///
/// The window bounds the read: without it an account's whole history was read whenever the
/// device was new (32 ms at 100,000 events on SQLite). It counts events of every kind, so the
/// cost is bounded whatever the history holds; a device last seen before the window counts as
/// new again, and the holder gets one notice too many, never one too few.
pub async fn has_login_from(
    reads: Reads<'_>,
    account_id: Uuid,
    client: &ClientInfo,
    before: i64,
    window: u64,
) -> Result<bool, DbErr> {
    let query = login_from(account_id, client, before, window);
    // After every log-in: on SQLite on the calling thread, not a round trip to a pool
    // connection's own thread (docs/performance-history.md, item 26).
    match reads.inline {
        Some(inline) => {
            let found = inline.query(&DbBackend::Sqlite.build(&query), |_| Ok(()))?;
            Ok(!found.is_empty())
        }
        None => {
            let backend = reads.pool.get_database_backend();
            Ok(reads
                .pool
                .query_one_raw(backend.build(&query))
                .await?
                .is_some())
        }
    }
}

/// `SELECT 1 FROM (the account's `window` newest events before `before`) WHERE` a `login` from
/// this device `LIMIT 1`. The inner query walks `idx_event_account_at` backwards and stops
/// after `window` rows, or at the first match: the outer one pulls its rows one at a time.
pub(crate) fn login_from(
    account_id: Uuid,
    client: &ClientInfo,
    before: i64,
    window: u64,
) -> SelectStatement {
    let recent = event::Entity::find()
        .select_only()
        .columns([
            event::Column::Kind,
            event::Column::Ip,
            event::Column::UserAgent,
        ])
        .filter(event::Column::AccountId.eq(account_id))
        .filter(event::Column::At.lt(before))
        .order_by_desc(event::Column::At)
        .limit(window)
        .into_query();
    let same = |column: event::Column, value: &Option<String>| match value {
        Some(value) => Expr::col(column).eq(value.as_str()),
        None => Expr::col(column).is_null(),
    };
    Query::select()
        .expr(Expr::val(1))
        .from_subquery(recent, "recent")
        .and_where(Expr::col(event::Column::Kind).eq("login"))
        .and_where(same(event::Column::Ip, &client.ip))
        .and_where(same(event::Column::UserAgent, &client.user_agent))
        .limit(1)
        .to_owned()
}
