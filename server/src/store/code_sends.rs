//! Sent codes, for resend limits.

use entity::code_send;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

pub async fn record<C: ConnectionTrait>(db: &C, target: &str, now: i64) -> Result<(), DbErr> {
    code_send::ActiveModel::from(code_send::Model {
        id: Uuid::new_v4(),
        target: target.to_owned(),
        sent_at: now,
    })
    .insert(db)
    .await
    .map(|_| ())
}

/// Send times for `target` since `since`, oldest first.
pub async fn since<C: ConnectionTrait>(
    db: &C,
    target: &str,
    since: i64,
) -> Result<Vec<i64>, DbErr> {
    Ok(code_send::Entity::find()
        .filter(code_send::Column::Target.eq(target))
        .filter(code_send::Column::SentAt.gt(since))
        .order_by_asc(code_send::Column::SentAt)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.sent_at)
        .collect())
}

pub async fn delete_before<C: ConnectionTrait>(db: &C, before: i64) -> Result<u64, DbErr> {
    Ok(code_send::Entity::delete_many()
        .filter(code_send::Column::SentAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
