use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign key to account: sign-up ceremonies exist before their account does.
        manager
            .create_table(
                Table::create()
                    .table(Ceremony::Table)
                    .if_not_exists()
                    .col(uuid(Ceremony::Id).primary_key())
                    .col(string(Ceremony::Kind))
                    .col(uuid_null(Ceremony::AccountId))
                    .col(uuid_null(Ceremony::SessionId))
                    .col(string_null(Ceremony::Username))
                    .col(text(Ceremony::State))
                    .col(blob_null(Ceremony::CodeHash))
                    .col(integer(Ceremony::Attempts).default(0))
                    .col(big_integer(Ceremony::CreatedAt))
                    .col(big_integer(Ceremony::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ceremony_expires")
                    .table(Ceremony::Table)
                    .col(Ceremony::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ceremony_account")
                    .table(Ceremony::Table)
                    .col(Ceremony::AccountId)
                    .col(Ceremony::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Ceremony::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Ceremony {
    Table,
    Id,
    Kind,
    AccountId,
    SessionId,
    Username,
    State,
    CodeHash,
    Attempts,
    CreatedAt,
    ExpiresAt,
}
