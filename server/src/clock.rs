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

/// The variable that names a [`FileClock`]'s file for `sesame serve` (see [`for_tests`]).
pub const TEST_CLOCK_FILE_VAR: &str = "SESAME_TEST_CLOCK_FILE";

/// The clock `sesame serve` runs on when [`TEST_CLOCK_FILE_VAR`] is set (`file`): the browser
/// tests move the server's time instead of sleeping (`tests/e2e`). Only a debug build honours
/// it; a release build refuses to start with it set, so no deployment runs on a clock that
/// anyone who can write one file may move: every expiry (sessions, codes, ceremonies,
/// lock-outs) and every TOTP step follows it.
pub fn for_tests(
    file: Option<std::ffi::OsString>,
    debug_build: bool,
) -> Result<Option<Arc<dyn Clock>>, String> {
    match file {
        None => Ok(None),
        Some(path) if debug_build => Ok(Some(Arc::new(FileClock::new(path)))),
        Some(_) => Err(format!(
            "{TEST_CLOCK_FILE_VAR} is for the tests of a debug build; unset it"
        )),
    }
}

/// A clock for tests of the `sesame` process itself (the browser tests): the real time plus
/// the whole number of seconds written in a file, read again at every call, so a test moves
/// the server's time by rewriting the file instead of sleeping. No file, or anything but a
/// number in it, is an offset of 0.
#[derive(Debug)]
pub struct FileClock {
    path: std::path::PathBuf,
}

impl FileClock {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Clock for FileClock {
    fn now_ms(&self) -> Millis {
        SystemClock.now_ms() + self.advanced_ms()
    }

    fn advanced_ms(&self) -> Millis {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .map_or(0, |secs| secs.saturating_mul(1000))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Within a second of `expected`: the system clock moves between the two readings.
    fn near(actual: Millis, expected: Millis) -> bool {
        (actual - expected).abs() < 1000
    }

    #[test]
    fn a_file_clock_follows_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let clock = FileClock::new(&path);
        assert_eq!(clock.advanced_ms(), 0, "no file yet");
        assert!(near(clock.now_ms(), SystemClock.now_ms()));

        std::fs::write(&path, "90\n").unwrap();
        assert_eq!(clock.advanced_ms(), 90_000);
        assert!(near(clock.now_ms(), SystemClock.now_ms() + 90_000));

        std::fs::write(&path, "630").unwrap();
        assert_eq!(clock.advanced_ms(), 630_000, "read again at every call");

        std::fs::write(&path, "soon").unwrap();
        assert_eq!(clock.advanced_ms(), 0, "not a number");
    }

    #[test]
    fn only_a_debug_build_runs_on_a_test_clock() {
        assert!(for_tests(None, false).unwrap().is_none());
        assert!(for_tests(None, true).unwrap().is_none());
        let file = || Some(std::ffi::OsString::from("/tmp/clock"));
        assert!(for_tests(file(), true).unwrap().is_some());
        let refused = for_tests(file(), false).unwrap_err();
        assert!(refused.contains("SESAME_TEST_CLOCK_FILE"), "{refused}");
    }
}
