//! `ceremony`: one started-but-unfinished step (a WebAuthn challenge or a code sent).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ceremony")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What the ceremony is for, e.g. `signup_passkey`, `login_passkey`, `login_code`.
    pub kind: String,
    pub account_id: Option<Uuid>,
    /// The session that started it, for ceremonies that act on a logged-in account.
    pub session_id: Option<Uuid>,
    pub username: Option<String>,
    /// Kind-specific state (server-side WebAuthn state, channel, address …) as JSON.
    pub state: String,
    /// SHA-256 of the code sent, keyed with the server key.
    pub code_hash: Option<Vec<u8>>,
    pub attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
