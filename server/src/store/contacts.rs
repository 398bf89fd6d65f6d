//! Verified contacts (email addresses and phone numbers).

use entity::contact;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
    sea_query::{Expr, LockType},
};
use uuid::Uuid;

use super::rows;
use crate::db::Exec;

pub async fn list_for_account<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
) -> Result<Vec<contact::Model>, DbErr> {
    contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account_id))
        .order_by_asc(contact::Column::VerifiedAt)
        .all(db)
        .await
}

/// The most recently verified contact of a channel.
pub async fn latest_of_channel<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    channel: &str,
) -> Result<Option<contact::Model>, DbErr> {
    contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account_id))
        .filter(contact::Column::Channel.eq(channel))
        .order_by_desc(contact::Column::VerifiedAt)
        .one(db)
        .await
}

/// Inside a write transaction: the contact `id` of this account if it is still there. On
/// PostgreSQL the row is held `FOR SHARE` until the transaction ends, so a removal of it
/// (`delete`, which then ends the account's sent-code log-ins) waits for this transaction to
/// commit, or this read waits for the removal and finds nothing. (On SQLite the one writer
/// runs the two in turn.)
pub async fn hold<C: Exec>(
    db: &C,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<contact::Model>, DbErr> {
    let mut select = contact::Entity::find()
        .filter(contact::Column::Id.eq(id))
        .filter(contact::Column::AccountId.eq(account_id));
    if db.backend() == DbBackend::Postgres {
        select = select.lock(LockType::Share);
    }
    Ok(db
        .fetch(select.build(db.backend()), rows::contact)
        .await?
        .pop())
}

/// Add a verified contact, or refresh the verification time of an existing one; true when
/// it was added.
pub async fn upsert_verified<C: Exec>(
    db: &C,
    account_id: Uuid,
    channel: &str,
    address: &str,
    now: i64,
) -> Result<(contact::Model, bool), DbErr> {
    let select = contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account_id))
        .filter(contact::Column::Channel.eq(channel))
        .filter(contact::Column::Address.eq(address))
        .limit(1);
    let existing = db
        .fetch(select.build(db.backend()), rows::contact)
        .await?
        .pop();
    if let Some(existing) = existing {
        let refresh = contact::Entity::update_many()
            .col_expr(contact::Column::VerifiedAt, Expr::value(now))
            .filter(contact::Column::Id.eq(existing.id));
        db.exec_query(&refresh).await?;
        let refreshed = contact::Model {
            verified_at: now,
            ..existing
        };
        return Ok((refreshed, false));
    }
    let model = contact::Model {
        id: Uuid::new_v4(),
        account_id,
        channel: channel.to_owned(),
        address: address.to_owned(),
        verified_at: now,
    };
    Ok((
        super::insert_row::<_, contact::ActiveModel>(db, model).await?,
        true,
    ))
}

/// Delete a contact of this account; false when there is none with that id *for this account*.
pub async fn delete<C: Exec>(
    db: &C,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<contact::Model>, DbErr> {
    let mut delete = contact::Entity::delete_many()
        .filter(contact::Column::Id.eq(id))
        .filter(contact::Column::AccountId.eq(account_id))
        .into_query();
    delete.returning(super::every_column::<contact::Entity>());
    Ok(db
        .fetch(db.backend().build(&delete), rows::contact)
        .await?
        .pop())
}
