//! The security activity log.

use entity::event;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, SelectExt, sea_query::Expr,
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

/// Was there a `login` event of the account from exactly this IP address and user agent
/// before `before`? (An absent IP or user agent matches only an absent one.)
pub async fn has_login_from(
    reads: Reads<'_>,
    account_id: Uuid,
    client: &ClientInfo,
    before: i64,
) -> Result<bool, DbErr> {
    let mut query = event::Entity::find()
        .filter(event::Column::AccountId.eq(account_id))
        .filter(event::Column::Kind.eq("login"))
        .filter(event::Column::At.lt(before));
    query = match &client.ip {
        Some(ip) => query.filter(event::Column::Ip.eq(ip.as_str())),
        None => query.filter(event::Column::Ip.is_null()),
    };
    query = match &client.user_agent {
        Some(ua) => query.filter(event::Column::UserAgent.eq(ua.as_str())),
        None => query.filter(event::Column::UserAgent.is_null()),
    };
    // After every log-in: on SQLite on the calling thread, not a round trip to a pool
    // connection's own thread (docs/PERFORMANCE.md, item 26).
    match reads.inline {
        Some(inline) => {
            let query = query.select_only().expr(Expr::val(1)).limit(1);
            let found = inline.query(&DbBackend::Sqlite.build(&query.into_query()), |_| Ok(()))?;
            Ok(!found.is_empty())
        }
        None => query.exists(reads.pool).await,
    }
}
