//! Storage: one module per aggregate over SeaORM. Functions are generic over
//! `ConnectionTrait`, so a service can pass a transaction or the pool.

pub mod accounts;
pub mod ceremonies;
pub mod code_sends;
pub mod contacts;
pub mod events;
pub mod passkeys;
pub mod recovery_codes;
pub mod sessions;

/// Is this error a unique-constraint violation (on either database)?
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
