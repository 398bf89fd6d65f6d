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
                    .table(Event::Table)
                    .if_not_exists()
                    .col(uuid(Event::Id).primary_key())
                    .col(uuid(Event::AccountId))
                    .col(big_integer(Event::At))
                    .col(string(Event::Kind))
                    .col(string_null(Event::Ip))
                    .col(text_null(Event::UserAgent))
                    .col(text(Event::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Event::Table, Event::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_event_account_at")
                    .table(Event::Table)
                    .col(Event::AccountId)
                    .col(Event::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Event::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
    AccountId,
    At,
    Kind,
    Ip,
    UserAgent,
    Detail,
}
