//! `setting`: facts about the deployment kept with its data, one row per name.
//!
//! The first is `server_key_check`, a MAC of a fixed text under the server key, written by the
//! first start: an instance started with another key (a typo, a missing `SESAME_SERVER_KEY`
//! on one host, a container without its data directory) is refused instead of serving with
//! codes, stand-in credential ids and TOTP secrets that do not match the others'
//! (`server/src/startup/key_check.rs`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Setting::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Setting::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Setting::Value).binary().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Setting::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Setting {
    Table,
    Name,
    Value,
}
