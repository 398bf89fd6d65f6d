//! Ceremonies: started-but-unfinished steps, stored so that any instance can finish them.

use entity::ceremony;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

pub async fn insert<C: ConnectionTrait>(db: &C, model: ceremony::Model) -> Result<(), DbErr> {
    ceremony::ActiveModel::from(model)
        .insert(db)
        .await
        .map(|_| ())
}

/// Consume a ceremony: one `DELETE … RETURNING` whose result decides who won, so finishing
/// twice (or concurrently, on any instance) lets at most one caller through. It is removed
/// *before* its proof is verified (webauthn-rs tutorial; WebAuthn L3 §13.4.3).
pub async fn take<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    kind: &str,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    let mut rows = ceremony::Entity::delete_many()
        .filter(ceremony::Column::Id.eq(id))
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::ExpiresAt.gt(now))
        .exec_with_returning(db)
        .await?;
    Ok(rows.pop())
}

/// Remove every expired ceremony; safe to run from every instance at once.
pub async fn delete_expired<C: ConnectionTrait>(db: &C, now: i64) -> Result<u64, DbErr> {
    Ok(ceremony::Entity::delete_many()
        .filter(ceremony::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
