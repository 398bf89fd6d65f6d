//! Logs and metrics.
//!
//! Logs go through `tracing`: human-readable by default, one JSON object a line with
//! `SESAME_LOG_FORMAT=json`; `SESAME_LOG` sets the filter (default `info`). Every line written
//! while a request is handled carries its request id, from the `request` span that
//! [`http::trace`] opens. Nothing that sees a secret is instrumented with its arguments
//! (`skip_all`), and the request span holds the method, the matched route and the path only:
//! never a query string (`/recover?token=…`, the recovery link's earlier form), a body, a cookie or another header (OWASP ASVS
//! 5.0 chapter V16, security logging: no credentials or session tokens in logs).
//!
//! Metrics are Prometheus series ([`metrics`]), served at `/metrics` ([`scrape`]).

pub mod http;
pub mod metrics;
pub mod scrape;

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

/// Install the global log subscriber (once; later calls do nothing).
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("SESAME_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a file, a pipe or journald gets plain text (and the escape
    // codes cost as much to write as the fields).
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if format == "json" {
        // One object per line: `timestamp`, `level`, the event's fields (`message` …) at the top
        // level, and `span` with the current request's `request_id`, `method` and `route`.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Logging for the admin commands: warnings and errors (or `SESAME_LOG`) to standard error, so
/// standard output holds only the command's result (text, or JSON for scripts).
pub fn init_for_command() {
    let filter = EnvFilter::try_from_env("SESAME_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
