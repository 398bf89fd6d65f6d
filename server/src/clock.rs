//! Time, passed in: domain code never reads the system clock itself, so tests move time
//! instead of sleeping.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A source of "now".
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> Millis;

    /// How far a test has moved this clock on from the real time; 0 for the real clock. Lets
    /// a monotonic timer (the per-IP limiter's) follow a test's clock without following steps
    /// of the system's wall clock.
    fn advanced_ms(&self) -> Millis {
        0
    }
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        let now = time::OffsetDateTime::now_utc();
        (now.unix_timestamp_nanos() / 1_000_000) as Millis
    }
}

/// A clock for tests: the real time plus an offset that the test can advance.
#[derive(Debug, Default, Clone)]
pub struct TestClock {
    offset: Arc<AtomicI64>,
}

impl TestClock {
    /// Move time forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.offset.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> Millis {
        SystemClock.now_ms() + self.offset.load(Ordering::SeqCst)
    }

    fn advanced_ms(&self) -> Millis {
        self.offset.load(Ordering::SeqCst)
    }
}

/// RFC 3339 text of a millisecond time stamp.
pub fn rfc3339(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
