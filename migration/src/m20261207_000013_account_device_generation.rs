//! `account.device_generation`: which generation of known-device cookies counts for the account
//! (`server/src/service/known_device.rs`). Each cookie's MAC covers the generation it was issued
//! under; raising it forgets every device signed in before: "sign out everywhere else", the
//! removal or replacement of a way in, the administrator's disable and recovery link all end
//! the account's other sessions and raise it (OWASP Authentication Cheat Sheet, "device
//! cookies": a device cookie must be revocable). Existing rows start at 0, the generation of
//! every cookie issued before this column existed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(
                        ColumnDef::new(Account::DeviceGeneration)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .drop_column(Account::DeviceGeneration)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    DeviceGeneration,
}
