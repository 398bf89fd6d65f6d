//! An index for the new-device check after every log-in (`store::events::has_login_from`: was
//! there an earlier `login` event of this account from this IP address and user agent?).
//!
//! Events are kept, so an account's history only grows. Through `idx_event_account_at` the
//! check read every earlier event of the account whenever the device was new: 32 ms with
//! 100,000 events, on SQLite on a request thread (`db::reads`). With `(account_id, ip, at)` it
//! reads only the account's events from that IP address: 0.008 ms. SQLite takes this index and
//! not one on `(account_id, kind, ip)`, which it would pass over for `idx_event_account_at`
//! (measured); the user agent is left out of the key to keep it small.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_event_login_from";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(NAME)
                    .table(Event::Table)
                    .col(Event::AccountId)
                    .col(Event::Ip)
                    .col(Event::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Event::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Event {
    Table,
    AccountId,
    Ip,
    At,
}
