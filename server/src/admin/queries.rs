//! Storage only the admin commands need (the shape of `store/`: generic over
//! `ConnectionTrait`, so a command can pass a transaction).

use std::collections::HashMap;

use entity::{account, ceremony, contact, passkey};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

/// Every account, by username.
pub async fn all_accounts<C: ConnectionTrait>(db: &C) -> Result<Vec<account::Model>, DbErr> {
    account::Entity::find()
        .order_by_asc(account::Column::Username)
        .all(db)
        .await
}

/// Passkeys per account (accounts without any are absent).
pub async fn passkey_counts<C: ConnectionTrait>(db: &C) -> Result<HashMap<Uuid, i64>, DbErr> {
    let rows: Vec<(Uuid, i64)> = passkey::Entity::find()
        .select_only()
        .column(passkey::Column::AccountId)
        .column_as(Expr::col(passkey::Column::Id).count(), "n")
        .group_by(passkey::Column::AccountId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Verified contacts per account (accounts without any are absent).
pub async fn contact_counts<C: ConnectionTrait>(db: &C) -> Result<HashMap<Uuid, i64>, DbErr> {
    let rows: Vec<(Uuid, i64)> = contact::Entity::find()
        .select_only()
        .column(contact::Column::AccountId)
        .column_as(Expr::col(contact::Column::Id).count(), "n")
        .group_by(contact::Column::AccountId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Set or clear the account's `disabled` flag.
/// Whether it changed anything (false: the account was already so).
pub async fn set_disabled<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    disabled: bool,
) -> Result<bool, DbErr> {
    account::Entity::update_many()
        .col_expr(account::Column::Disabled, Expr::value(disabled))
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::Disabled.ne(disabled))
        .exec(db)
        .await
        .map(|done| done.rows_affected == 1)
}

/// Remove the account's unfinished ceremonies, of one kind or (`None`) all of them.
pub async fn delete_ceremonies<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    kind: Option<&str>,
) -> Result<u64, DbErr> {
    let mut query =
        ceremony::Entity::delete_many().filter(ceremony::Column::AccountId.eq(account_id));
    if let Some(kind) = kind {
        query = query.filter(ceremony::Column::Kind.eq(kind));
    }
    Ok(query.exec(db).await?.rows_affected)
}

/// The account's live ceremony of `kind` that expires last, if any.
pub async fn live_ceremony<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    kind: &str,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    ceremony::Entity::find()
        .filter(ceremony::Column::AccountId.eq(account_id))
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::ExpiresAt.gt(now))
        .order_by_desc(ceremony::Column::ExpiresAt)
        .one(db)
        .await
}

/// The live ceremony of `kind` whose stored hash is `hash` (a link's token hash).
pub async fn ceremony_by_hash<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    hash: Vec<u8>,
    now: i64,
) -> Result<Option<ceremony::Model>, DbErr> {
    by_hash(kind, hash, now).one(db).await
}

/// [`ceremony_by_hash`]'s query: found through `idx_ceremony_code_hash`, not by reading every
/// live ceremony.
pub fn by_hash(kind: &str, hash: Vec<u8>, now: i64) -> Select<ceremony::Entity> {
    ceremony::Entity::find()
        .filter(ceremony::Column::Kind.eq(kind))
        .filter(ceremony::Column::CodeHash.eq(hash))
        .filter(ceremony::Column::ExpiresAt.gt(now))
}

/// Delete the account row; passkeys, sessions, contacts, recovery codes and events go with it
/// (`ON DELETE CASCADE`).
pub async fn delete_account<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    Ok(account::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}
