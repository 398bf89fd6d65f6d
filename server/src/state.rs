//! The shared application state handed to every handler.

use std::{net::IpAddr, sync::Arc};

use sea_orm::DatabaseConnection;
use sesame_delivery::{EmailSender, SmsSender};
use webauthn_rs::Webauthn;

use crate::{clock::Clock, config::Config, crypto::ServerKey};

/// Cheap to clone: one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    /// PostgreSQL: the pool. SQLite: the connection that applied the migrations; `/readyz`
    /// pings it. Writes go through `writer` (see [`crate::db::Pools`]).
    pub db: DatabaseConnection,
    /// Stand-alone hot reads: on SQLite read-only connections beside the single writer; on
    /// PostgreSQL the same pool as `db`.
    pub reads: crate::db::ReadPool,
    /// SQLite: the hot reads on the calling thread (see [`crate::db::reads`]).
    pub inline: Option<Arc<crate::db::InlineReads>>,
    /// PostgreSQL: the hot reads on connections kept out of the pool (see
    /// [`crate::db::pinned`]).
    pub pinned: Option<crate::db::PinnedReads>,
    /// Runs every write; on SQLite on a thread of its own (see [`crate::db::Writer`]).
    pub writer: crate::db::Writer,
    pub config: Config,
    /// Built once from the configuration (immutable, so cached).
    pub webauthn: Webauthn,
    pub key: ServerKey,
    pub clock: Arc<dyn Clock>,
    pub cookie_name: &'static str,
    pub trusted_proxies: Vec<IpAddr>,
    /// Email delivery (SMTP, or the development log sender).
    pub email: Arc<dyn EmailSender>,
    /// SMS delivery (Twilio, webhook, or the development log sender).
    pub sms: Arc<dyn SmsSender>,
    /// What requests leave running after their answer; a shutdown waits for it.
    pub background: crate::background::Background,
    /// Set on SIGTERM while the server drains (`SESAME_SHUTDOWN_DRAIN_SECS`): `/readyz`
    /// answers 503, everything else is served as before.
    pub draining: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Where the hot stand-alone reads go (see [`crate::db::Reads`]).
    pub fn read_side(&self) -> crate::db::Reads<'_> {
        crate::db::Reads {
            pool: &self.reads,
            inline: self.inline.as_deref(),
            pinned: self.pinned.as_ref(),
        }
    }
}
