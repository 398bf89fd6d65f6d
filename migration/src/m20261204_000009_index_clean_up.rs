//! Indexes for the once-a-minute clean-up (`server/src/startup/cleanup.rs`, `cleanup_loop`).
//!
//! It deletes sessions idle too long (`last_seen_at` older than the idle timeout) and sent-code
//! records past the resend look-back (`sent_at`). Neither column had an index of its own
//! (`idx_code_send_target_at` starts with the target), so each minute both deletes read their
//! whole table, and on SQLite they did it holding the one write lock: with 1,000,000 sessions
//! (440 MB) 118 ms in which no log-in could write, on every instance (docs/performance-history.md,
//! twelfth session). With these indexes each delete reads only what it deletes: SQLite answers
//! `expires_at <= ? OR last_seen_at <= ?` with a "multi-index OR" over both indexes (SQLite,
//! "The SQLite Query Optimizer Overview" §3.0, "OR-connected terms"), PostgreSQL with a bitmap
//! OR. What it costs: one more index entry per new session, moved when the session's
//! `last_seen_at` is touched (at most once a minute per session), and one per code sent.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SESSION_LAST_SEEN: &str = "idx_session_last_seen";
const CODE_SEND_SENT_AT: &str = "idx_code_send_sent_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(SESSION_LAST_SEEN)
                    .table(Session::Table)
                    .col(Session::LastSeenAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(CODE_SEND_SENT_AT)
                    .table(CodeSend::Table)
                    .col(CodeSend::SentAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(SESSION_LAST_SEEN)
                    .table(Session::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(CODE_SEND_SENT_AT)
                    .table(CodeSend::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Session {
    Table,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum CodeSend {
    Table,
    SentAt,
}
