use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_account::Account;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCode::Table)
                    .if_not_exists()
                    .col(uuid(RecoveryCode::Id).primary_key())
                    .col(uuid(RecoveryCode::AccountId))
                    .col(blob(RecoveryCode::Lookup))
                    .col(text(RecoveryCode::CodeHash))
                    .col(big_integer(RecoveryCode::CreatedAt))
                    .col(big_integer_null(RecoveryCode::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecoveryCode::Table, RecoveryCode::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_code_account")
                    .table(RecoveryCode::Table)
                    .col(RecoveryCode::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecoveryCode::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RecoveryCode {
    Table,
    Id,
    AccountId,
    Lookup,
    CodeHash,
    CreatedAt,
    UsedAt,
}
