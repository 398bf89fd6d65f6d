//! An index on `event.at`, for the retention of the security activity log
//! (`SESAME_EVENT_RETENTION_DAYS`; `server/src/startup/cleanup.rs`, `cleanup_loop`).
//!
//! The clean-up deletes events older than the retention period. Without an index on `at` alone
//! (`idx_event_account_at` starts with the account) each run would read the whole table, on
//! SQLite while holding the one write lock (as the session clean-up did before
//! `m20261204_000009`). Times only grow, so each new entry goes to the right-hand edge of the
//! index: one page that every insert of the moment shares (docs/performance-history.md, item 38).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const EVENT_AT: &str = "idx_event_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(EVENT_AT)
                    .table(Event::Table)
                    .col(Event::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(EVENT_AT).table(Event::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Event {
    Table,
    At,
}
