//! `devices_forgotten`: each account's device generation, how many times its known devices
//! were forgotten (`service::known_device`).

use entity::devices_forgotten;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::db::Exec;

/// Forget the account's known devices: raise its generation (the first time from 0 to 1), so
/// no known-device cookie issued before counts. One upsert. Run it in the transaction of the
/// change that forgets them, after the account's lock.
pub async fn forget<C: Exec>(db: &C, account_id: Uuid) -> Result<(), DbErr> {
    use devices_forgotten::Column::{AccountId, Generation};
    let first = devices_forgotten::Model {
        account_id,
        generation: 1,
    };
    let upsert = devices_forgotten::Entity::insert(first.into_active_model()).on_conflict(
        OnConflict::column(AccountId)
            .value(
                Generation,
                Expr::col((devices_forgotten::Entity, Generation)).add(1),
            )
            .to_owned(),
    );
    db.exec_query(&upsert).await?;
    Ok(())
}

/// The account's device generation: 0 when its devices were never forgotten (or for an id no
/// account has: the same one read either way).
pub async fn generation<C: Exec>(db: &C, account_id: Uuid) -> Result<i32, DbErr> {
    let query = devices_forgotten::Entity::find()
        .filter(devices_forgotten::Column::AccountId.eq(account_id))
        .build(db.backend());
    Ok(db
        .fetch(query, super::rows::devices_forgotten)
        .await?
        .pop()
        .map_or(0, |f| f.generation))
}
