//! Database migrations; the server applies them at start (`Migrator::up`).

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_account;
mod m20261128_000002_create_passkey;
mod m20261128_000003_create_ceremony;
mod m20261128_000004_create_session;
mod m20261128_000005_create_event;
mod m20261128_000006_create_contact;
mod m20261128_000007_create_recovery_code;
mod m20261128_000008_create_code_send;
mod m20261204_000009_index_clean_up;
mod m20261204_000010_index_ceremony_code_hash;
mod m20261205_000011_index_event_at;
mod m20261207_000012_create_setting;
mod m20261207_000013_create_devices_forgotten;

/// Every migration, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_account::Migration),
            Box::new(m20261128_000002_create_passkey::Migration),
            Box::new(m20261128_000003_create_ceremony::Migration),
            Box::new(m20261128_000004_create_session::Migration),
            Box::new(m20261128_000005_create_event::Migration),
            Box::new(m20261128_000006_create_contact::Migration),
            Box::new(m20261128_000007_create_recovery_code::Migration),
            Box::new(m20261128_000008_create_code_send::Migration),
            Box::new(m20261204_000009_index_clean_up::Migration),
            Box::new(m20261204_000010_index_ceremony_code_hash::Migration),
            Box::new(m20261205_000011_index_event_at::Migration),
            Box::new(m20261207_000012_create_setting::Migration),
            Box::new(m20261207_000013_create_devices_forgotten::Migration),
        ]
    }
}
