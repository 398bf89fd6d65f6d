//! SeaORM entities: one module per table, no logic. Time stamps are Unix milliseconds (UTC)
//! so that ordering and expiry comparisons are plain integer comparisons on SQLite and PostgreSQL.

pub mod account;
pub mod ceremony;
pub mod code_send;
pub mod contact;
pub mod devices_forgotten;
pub mod event;
pub mod passkey;
pub mod prelude;
pub mod recovery_code;
pub mod session;
