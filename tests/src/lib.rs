//! Test helpers for Sesame's integration tests: a real server per test on a fresh database
//! (SQLite file or a new PostgreSQL database), a cookie-keeping client per "browser", and the
//! software authenticator.

pub mod app;
pub mod flows;
pub mod harness;
pub mod logs;
pub mod metrics;
pub mod process;

pub use app::{Backend, Browser, Resp, TestApp, spawn_app};
pub use sesame_softauth::{SoftAuthenticator, Tamper};
