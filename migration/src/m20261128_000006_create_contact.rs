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
                    .table(Contact::Table)
                    .if_not_exists()
                    .col(uuid(Contact::Id).primary_key())
                    .col(uuid(Contact::AccountId))
                    .col(string(Contact::Channel))
                    .col(string(Contact::Address))
                    .col(big_integer(Contact::VerifiedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contact_account_address")
                    .table(Contact::Table)
                    .col(Contact::AccountId)
                    .col(Contact::Channel)
                    .col(Contact::Address)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contact::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Contact {
    Table,
    Id,
    AccountId,
    Channel,
    Address,
    VerifiedAt,
}
