//! Storage: one module per aggregate over SeaORM. Functions are generic over
//! `ConnectionTrait`, so a service can pass a transaction or the pool; those a log-in writes
//! with are generic over [`crate::db::Exec`], which also takes the writer thread's inline
//! SQLite connection ([`crate::db::WriteConn`], [`crate::db::WriteTxn`]).

pub mod accounts;
pub mod ceremonies;
pub mod code_sends;
pub mod contacts;
pub mod events;
pub mod passkeys;
pub mod recovery_codes;
pub mod rows;
pub mod sessions;

/// Is this error a unique-constraint violation (on either database)?
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Begin a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`, taking the write
/// lock at once: a deferred transaction that reads first and writes later can fail with
/// `SQLITE_BUSY` when another writer got in between, which the busy timeout cannot fix.
pub async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{DbBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
