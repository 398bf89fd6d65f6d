//! Recovery codes.

use entity::recovery_code;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use crate::db::Exec;

/// Replace the account's set with new rows (a new set voids the old one).
pub async fn replace_set<C: Exec>(
    db: &C,
    account_id: Uuid,
    rows: Vec<(Vec<u8>, String)>,
    now: i64,
) -> Result<(), DbErr> {
    let void = recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::AccountId.eq(account_id));
    db.exec_query(&void).await?;
    for (lookup, code_hash) in rows {
        let row = recovery_code::Model {
            id: Uuid::new_v4(),
            account_id,
            lookup,
            code_hash,
            created_at: now,
            used_at: None,
        };
        super::insert_row::<_, recovery_code::ActiveModel>(db, row).await?;
    }
    Ok(())
}

/// Unused codes of the account whose lookup tag matches.
pub async fn candidates<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    lookup: &[u8],
) -> Result<Vec<recovery_code::Model>, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .filter(recovery_code::Column::Lookup.eq(lookup.to_vec()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .all(db)
        .await
}

/// Mark a code used; false when it was used meanwhile (the conditional write decides).
pub async fn consume<C: Exec>(db: &C, id: Uuid, now: i64) -> Result<bool, DbErr> {
    let update = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::Id.eq(id))
        .filter(recovery_code::Column::UsedAt.is_null());
    Ok(db.exec_query(&update).await? == 1)
}

/// (remaining, created_at of the set).
pub async fn status<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
) -> Result<(u64, Option<i64>), DbErr> {
    let rows = recovery_code::Entity::find()
        .filter(recovery_code::Column::AccountId.eq(account_id))
        .order_by_asc(recovery_code::Column::CreatedAt)
        .all(db)
        .await?;
    let remaining = rows.iter().filter(|r| r.used_at.is_none()).count() as u64;
    Ok((remaining, rows.first().map(|r| r.created_at)))
}
