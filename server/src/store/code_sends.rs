//! Sent codes, for resend limits.

use entity::code_send;
use sea_orm::{
    ColumnTrait, DbBackend, DbErr, DeleteMany, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use super::rows;
use crate::db::Exec;

pub async fn record<C: Exec>(db: &C, target: &str, now: i64) -> Result<(), DbErr> {
    let row = code_send::Model {
        id: Uuid::new_v4(),
        target: target.to_owned(),
        sent_at: now,
    };
    super::insert_row::<_, code_send::ActiveModel>(db, row).await?;
    Ok(())
}

/// Send times for `target` since `since`, oldest first.
pub async fn since<C: Exec>(db: &C, target: &str, since: i64) -> Result<Vec<i64>, DbErr> {
    let select = code_send::Entity::find()
        .filter(code_send::Column::Target.eq(target))
        .filter(code_send::Column::SentAt.gt(since))
        .order_by_asc(code_send::Column::SentAt);
    Ok(db
        .fetch(select.build(db.backend()), rows::code_send)
        .await?
        .into_iter()
        .map(|row| row.sent_at)
        .collect())
}

/// Remove the latest record for `target` (a charged try given back).
pub async fn delete_latest<C: Exec>(db: &C, target: &str) -> Result<(), DbErr> {
    let latest = code_send::Entity::find()
        .filter(code_send::Column::Target.eq(target))
        .order_by_desc(code_send::Column::SentAt)
        .limit(1);
    if let Some(row) = db
        .fetch(latest.build(db.backend()), rows::code_send)
        .await?
        .pop()
    {
        let delete = code_send::Entity::delete_many().filter(code_send::Column::Id.eq(row.id));
        db.exec_query(&delete).await?;
    }
    Ok(())
}

/// Remove at most [`super::CLEAN_UP_BATCH`] records of codes sent before `before`; how many
/// went.
pub async fn delete_before<C: Exec>(db: &C, before: i64) -> Result<u64, DbErr> {
    db.exec_query(&sent_before(db.backend(), before, super::CLEAN_UP_BATCH))
        .await
}

/// At most `batch` records of codes sent before `before` (indexed: `idx_code_send_sent_at`).
pub fn sent_before(backend: DbBackend, before: i64, batch: u64) -> DeleteMany<code_send::Entity> {
    let old = code_send::Entity::find().filter(code_send::Column::SentAt.lt(before));
    super::delete_batch(backend, old, code_send::Column::Id, batch)
}
