//! Sesame: a passkey-first identity server.
//!
//! Calls go one way: `routes` → `service` → `store` → `entity`.

pub mod aaguid;
pub mod admin;
pub mod auth;
pub mod background;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod routes;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

pub use startup::{Application, Overrides};
