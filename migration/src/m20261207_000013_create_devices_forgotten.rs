//! `devices_forgotten`: how many times an account's known devices were forgotten, the
//! generation bound into its known-device cookies (`server/src/service/known_device.rs`).
//! Raising it makes every cookie issued before stop counting: "sign out everywhere else", the
//! removal or replacement of a way in, the administrator's disable and recovery link all end
//! the account's other sessions and forget its devices (OWASP Authentication Cheat Sheet,
//! "device cookies": a device cookie must be revocable). One row per account that ever forgot
//! them; none means generation 0.
//!
//! A table of its own rather than a column of `account`: instances of the version before keep
//! serving during a rolling upgrade, and a column added to `account` would break their cached
//! `UPDATE account … RETURNING *` on PostgreSQL ("cached plan must not change result type").

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DevicesForgotten::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DevicesForgotten::AccountId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DevicesForgotten::Generation)
                            .integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_devices_forgotten_account")
                            .from(DevicesForgotten::Table, DevicesForgotten::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DevicesForgotten::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DevicesForgotten {
    Table,
    AccountId,
    Generation,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
