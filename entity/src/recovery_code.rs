//! `recovery_code`: one single-use recovery code of an account's current set.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_code")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// First 4 bytes of HMAC-SHA256(server key, code): finds the one row worth verifying,
    /// without the key it says nothing about the code.
    pub lookup: Vec<u8>,
    /// argon2id PHC string of the code (salted; NIST SP 800-63B §3.1.2).
    pub code_hash: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
