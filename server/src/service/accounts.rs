//! The account as the contract shows it.

use entity::{account, contact, passkey, recovery_code};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;

/// Contract shape `Account`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub password_set: bool,
    pub totp_enabled: bool,
    pub passkeys: u64,
    pub contacts: u64,
    pub recovery_codes_remaining: u64,
}

pub async fn view<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
) -> Result<AccountView, DbErr> {
    let passkeys = passkey::Entity::find()
        .filter(passkey::Column::AccountId.eq(account.id))
        .count(db)
        .await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account.id))
        .count(db)
        .await?;
    let recovery_codes_remaining = recovery_code::Entity::find()
        .filter(recovery_code::Column::AccountId.eq(account.id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?;
    Ok(AccountView {
        id: account.id,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        created_at: rfc3339(account.created_at),
        password_set: account.password_hash.is_some(),
        totp_enabled: account.totp_enabled_at.is_some(),
        passkeys,
        contacts,
        recovery_codes_remaining,
    })
}
