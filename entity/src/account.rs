//! `account`: one person.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Normalised (NFKC, lower-case) user name; unique.
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    /// The random WebAuthn user handle (never the username); unique.
    #[sea_orm(unique)]
    pub user_handle: Uuid,
    pub created_at: i64,
    /// PHC string of the argon2id hash, when a password is set.
    pub password_hash: Option<String>,
    /// TOTP secret, encrypted with the server key (nonce ‖ ciphertext).
    pub totp_secret: Option<Vec<u8>>,
    pub totp_enabled_at: Option<i64>,
    /// The last accepted TOTP time step; a step is accepted at most once.
    pub totp_last_step: Option<i64>,
    /// Consecutive failed code log-ins across every method.
    pub failed_attempts: i32,
    /// No code log-in before this time (exponential back-off).
    pub locked_until: Option<i64>,
    pub disabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::passkey::Entity")]
    Passkey,
}

impl Related<super::passkey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Passkey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
