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
        // No time stamps: their six-digit microseconds would match a six-digit code by chance.
        .without_time()
        .with_writer(|| Capture)
        .try_init();
}

/// Whether anything logged so far contains `needle` as a whole token: not directly preceded or
/// followed by a letter or digit, so that a six-digit code is not "found" inside a longer number
/// or a hexadecimal id that happens to contain those digits. A secret logged as `code=123456`,
/// `"123456"` or `token: abc…` is still found.
pub fn contains(needle: &str) -> bool {
    buffer()
        .lock()
        .map(|log| contains_token(&String::from_utf8_lossy(&log), needle))
        .unwrap_or(false)
}

/// Whether `text` contains `needle` as a whole token (see [`contains`]).
pub fn contains_token(text: &str, needle: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(needle).any(|(at, _)| {
        !is_word(text[..at].chars().next_back())
            && !is_word(text[at + needle.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::contains_token;

    #[test]
    fn a_code_is_found_as_a_token_but_not_inside_a_longer_number_or_id() {
        assert!(contains_token("sent code=123456 to x", "123456"));
        assert!(contains_token("{\"code\":\"123456\"}", "123456"));
        assert!(contains_token("123456", "123456"));
        assert!(!contains_token("latency_us=91234567", "123456"));
        assert!(!contains_token("id=7f1234567a", "123456"));
        assert!(contains_token("x 91234567 y 123456.", "123456"));
    }
}
