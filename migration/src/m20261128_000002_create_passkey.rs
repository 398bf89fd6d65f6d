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
                    .table(Passkey::Table)
                    .if_not_exists()
                    .col(uuid(Passkey::Id).primary_key())
                    .col(uuid(Passkey::AccountId))
                    .col(blob_uniq(Passkey::CredentialId))
                    .col(text(Passkey::Data))
                    .col(string(Passkey::Label))
                    .col(uuid_null(Passkey::Aaguid))
                    .col(boolean(Passkey::BackupEligible))
                    .col(boolean(Passkey::BackupState))
                    .col(big_integer(Passkey::SignCount))
                    .col(big_integer(Passkey::CreatedAt))
                    .col(big_integer_null(Passkey::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Passkey::Table, Passkey::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_passkey_account")
                    .table(Passkey::Table)
                    .col(Passkey::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Passkey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Passkey {
    Table,
    Id,
    AccountId,
    CredentialId,
    Data,
    Label,
    Aaguid,
    BackupEligible,
    BackupState,
    SignCount,
    CreatedAt,
    LastUsedAt,
}
