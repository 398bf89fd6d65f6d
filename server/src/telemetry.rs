//! Logging through `tracing`: human-readable by default, JSON with `SESAME_LOG_FORMAT=json`.
//! Nothing that sees a secret is instrumented with its arguments (`skip_all`).

use tracing_subscriber::{EnvFilter, fmt};

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("SESAME_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
