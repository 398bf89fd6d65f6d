//! An index for finding a recovery link by its token's hash (`POST /api/v1/recover/start`,
//! which needs no session).
//!
//! The link is a ceremony found by `kind`, `code_hash` and `expires_at > now`. Without an index
//! on `code_hash`, SQLite and PostgreSQL read every live ceremony: with 100,000 of them (log-in
//! starts nobody finished, e.g. from pages offering passkey autofill) 196 ms for each link
//! opened, or each made-up token tried. Partial (`WHERE code_hash IS NOT NULL`): passkey
//! ceremonies, the most frequent, have no hash and cost it nothing; a lookup by `code_hash = ?`
//! implies the condition, so both databases use it (SQLite, "Partial Indexes" §2; PostgreSQL,
//! "Partial Indexes" §11.8).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Plain SQL: the same statement on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_ceremony_code_hash ON ceremony (code_hash) \
                 WHERE code_hash IS NOT NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_ceremony_code_hash")
            .await
            .map(|_| ())
    }
}
