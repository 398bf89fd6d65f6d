use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .if_not_exists()
                    .col(uuid(Account::Id).primary_key())
                    .col(string_uniq(Account::Username))
                    .col(string(Account::DisplayName))
                    .col(uuid_uniq(Account::UserHandle))
                    .col(big_integer(Account::CreatedAt))
                    .col(text_null(Account::PasswordHash))
                    .col(blob_null(Account::TotpSecret))
                    .col(big_integer_null(Account::TotpEnabledAt))
                    .col(big_integer_null(Account::TotpLastStep))
                    .col(integer(Account::FailedAttempts).default(0))
                    .col(big_integer_null(Account::LockedUntil))
                    .col(boolean(Account::Disabled).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Account::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Account {
    Table,
    Id,
    Username,
    DisplayName,
    UserHandle,
    CreatedAt,
    PasswordHash,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
    FailedAttempts,
    LockedUntil,
    Disabled,
}
