use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CodeSend::Table)
                    .if_not_exists()
                    .col(uuid(CodeSend::Id).primary_key())
                    .col(string(CodeSend::Target))
                    .col(big_integer(CodeSend::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_code_send_target_at")
                    .table(CodeSend::Table)
                    .col(CodeSend::Target)
                    .col(CodeSend::SentAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CodeSend::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CodeSend {
    Table,
    Id,
    Target,
    SentAt,
}
