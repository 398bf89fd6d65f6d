//! Everything the servers under test log, captured (at trace level for Sesame's own crates) so
//! that tests can prove no code, password, token or secret ever reaches a log line.

use std::{
    io::Write,
    sync::{Mutex, OnceLock},
};

static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

fn buffer() -> &'static Mutex<Vec<u8>> {
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = buffer().lock() {
            log.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Install the capturing subscriber (once per test binary).
pub fn install() {
    let filter = tracing_subscriber::EnvFilter::new(
        "info,sesame=trace,sesame_delivery=trace,tower_http=debug",
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

/// Whether anything logged so far contains `needle`.
pub fn contains(needle: &str) -> bool {
    buffer()
        .lock()
        .map(|log| String::from_utf8_lossy(&log).contains(needle))
        .unwrap_or(false)
}
