//! Checking the configuration: every setting that can be checked without side effects, and
//! the settings read through a check (the listen address, the origins).

use std::net::SocketAddr;

use url::Url;

use super::{Config, ConfigError, bad};

/// The longest session, idle time or re-authentication window: 100 years.
const MAX_DURATION_SECS: u64 = 100 * 31_557_600;

/// The longest request or header read timeout: a day.
const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The largest `SESAME_SESSION_LIMIT`: an account's session list is one answer.
const MAX_SESSION_LIMIT: u32 = 100_000;

/// The longest `SESAME_SHUTDOWN_DRAIN_SECS`.
const MAX_DRAIN_SECS: u64 = 3_600;

/// The most database connections: sqlx allocates its pool's queue at full size at start.
const MAX_CONNECTIONS: u32 = 10_000;

impl Config {
    /// Check every setting that can be checked without side effects.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.check_database_url()?;
        if !(1..=MAX_CONNECTIONS).contains(&self.database_max_connections) {
            return Err(bad(
                "SESAME_DATABASE_MAX_CONNECTIONS",
                format!("must be 1 to {MAX_CONNECTIONS}"),
            ));
        }
        if self.rp_id.is_empty() || self.rp_id.contains(['/', ':']) {
            return Err(bad(
                "SESAME_RP_ID",
                "must be a bare domain such as example.com",
            ));
        }
        // The TOTP key URI names the issuer before a colon (`otpauth://totp/Issuer:account`,
        // Google Authenticator's Key Uri Format: "neither issuer nor account name may
        // themselves contain a colon"); totp-rs refuses such an issuer, which would make every
        // TOTP set-up and TOTP log-in fail.
        if self.rp_name.trim().is_empty() || self.rp_name.contains(':') {
            return Err(bad(
                "SESAME_RP_NAME",
                "must be a non-empty name without a colon (authenticator apps show it)",
            ));
        }
        self.origins()?;
        if self.session_idle_secs == 0 || self.session_lifetime_secs == 0 {
            return Err(bad(
                "SESAME_SESSION_IDLE_SECS",
                "session lifetimes must be positive",
            ));
        }
        if self.session_limit > MAX_SESSION_LIMIT {
            return Err(bad(
                "SESAME_SESSION_LIMIT",
                format!("must be 0 (no limit) to {MAX_SESSION_LIMIT} sessions"),
            ));
        }
        // Times are milliseconds in an i64: a larger number of seconds would wrap around
        // (a session expiring in the past, a clean-up deleting every session).
        for (name, secs) in [
            ("SESAME_SESSION_IDLE_SECS", self.session_idle_secs),
            ("SESAME_SESSION_LIFETIME_SECS", self.session_lifetime_secs),
            ("SESAME_REAUTH_WINDOW_SECS", self.reauth_window_secs),
        ] {
            if secs > MAX_DURATION_SECS {
                return Err(bad(name, "at most 100 years (3155760000 seconds)"));
            }
        }
        for proxy in &self.trusted_proxies {
            proxy.parse::<std::net::IpAddr>().map_err(|_| {
                bad(
                    "SESAME_TRUSTED_PROXIES",
                    format!("{proxy:?} is not an IP address"),
                )
            })?;
        }
        if !matches!(self.ip_rate_limit.as_str(), "on" | "off") {
            return Err(bad("SESAME_IP_RATE_LIMIT", "must be on or off"));
        }
        if self.ip_rate_limit_per_minute == 0 || self.ip_rate_limit_burst == 0 {
            return Err(bad(
                "SESAME_IP_RATE_LIMIT_PER_MINUTE",
                "the per-IP limit and burst must be positive (turn the limit off with SESAME_IP_RATE_LIMIT=off)",
            ));
        }
        if !(1..=100_000).contains(&self.client_codes_per_hour) {
            return Err(bad("SESAME_CLIENT_CODES_PER_HOUR", "must be 1 to 100000"));
        }
        // hyper adds the header read timeout to an `Instant`, which panics on overflow.
        for (name, secs) in [
            ("SESAME_REQUEST_TIMEOUT_SECS", self.request_timeout_secs),
            (
                "SESAME_HEADER_READ_TIMEOUT_SECS",
                self.header_read_timeout_secs,
            ),
        ] {
            if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
                return Err(bad(
                    name,
                    format!("must be 1 to {MAX_TIMEOUT_SECS} seconds"),
                ));
            }
        }
        // An hour is far longer than any load balancer needs to see a failing readiness check;
        // beyond it a typo (seconds read as milliseconds) would hold every restart.
        if self.shutdown_drain_secs > MAX_DRAIN_SECS {
            return Err(bad(
                "SESAME_SHUTDOWN_DRAIN_SECS",
                format!("must be 0 to {MAX_DRAIN_SECS} seconds"),
            ));
        }
        // A window of 0 passes only in the millisecond of the log-in: every sensitive change
        // would be refused for good.
        if self.reauth_window_secs == 0 {
            return Err(bad(
                "SESAME_REAUTH_WINDOW_SECS",
                "must be positive (a window of 0 refuses every sensitive change)",
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(bad("SESAME_LOG_FORMAT", "must be text or json"));
        }
        if let Some(addr) = &self.metrics_listen {
            addr.parse::<SocketAddr>().map_err(|_| {
                bad(
                    "SESAME_METRICS_LISTEN",
                    format!("{addr:?} is not host:port"),
                )
            })?;
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Err(bad(
                "SESAME_METRICS_TOKEN",
                "must be at least 16 characters",
            ));
        }
        if let Some(key) = &self.server_key {
            crate::crypto::ServerKey::from_hex(key)
                .ok_or_else(|| bad("SESAME_SERVER_KEY", "must be 64 hex digits"))?;
        }
        let log_sms = self
            .sms_provider
            .as_deref()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("log"));
        if log_sms && !Self::development(&self.origins()?) {
            return Err(bad(
                "SESAME_SMS_PROVIDER",
                "log writes every text, code included, to the log: only with localhost origins",
            ));
        }
        Ok(())
    }

    /// `sqlite:…`, or a URL PostgreSQL's driver reads (`postgres://` or `postgresql://`). The
    /// error never repeats the URL: it may hold the password.
    fn check_database_url(&self) -> Result<(), ConfigError> {
        let url = self.database_url.as_str();
        if url.starts_with("sqlite:") {
            return Ok(());
        }
        let postgres = (url.starts_with("postgres://") || url.starts_with("postgresql://"))
            && url
                .parse::<sea_orm::sqlx::postgres::PgConnectOptions>()
                .is_ok();
        if postgres {
            return Ok(());
        }
        Err(bad(
            "SESAME_DATABASE_URL",
            "must be sqlite://path or postgres://user:password@host/database (a password \
             with @, #, /, ? or % in it percent-encoded)",
        ))
    }

    /// A development set-up: every origin on `localhost` or a `*.localhost` name. Only there
    /// may the delivery stand-ins write messages, codes included, to the log.
    pub fn development(origins: &[Url]) -> bool {
        origins.iter().all(|origin| {
            origin
                .host_str()
                .is_some_and(|host| host == "localhost" || host.ends_with(".localhost"))
        })
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            bad(
                "SESAME_LISTEN",
                format!("{:?} is not host:port", self.listen),
            )
        })
    }

    /// The configured origins, parsed; each host must equal the RP id or be a subdomain of it
    /// (WebAuthn L3 §5.1.3 step 8 / §13.4.9: the RP id must be a registrable suffix of the origin).
    pub fn origins(&self) -> Result<Vec<Url>, ConfigError> {
        if self.origin.is_empty() {
            return Err(bad("SESAME_ORIGIN", "at least one origin is needed"));
        }
        self.origin
            .iter()
            .map(|o| {
                let url = Url::parse(o)
                    .map_err(|_| bad("SESAME_ORIGIN", format!("{o:?} is not a URL")))?;
                if !matches!(url.scheme(), "http" | "https") || url.path() != "/" {
                    return Err(bad(
                        "SESAME_ORIGIN",
                        format!("{o:?} must be http(s)://host[:port]"),
                    ));
                }
                let host = url.host_str().unwrap_or_default();
                if host != self.rp_id && !host.ends_with(&format!(".{}", self.rp_id)) {
                    return Err(bad(
                        "SESAME_ORIGIN",
                        format!(
                            "the host of {o:?} does not match SESAME_RP_ID {:?}",
                            self.rp_id
                        ),
                    ));
                }
                if url.scheme() == "http" && host != "localhost" && !host.ends_with(".localhost") {
                    return Err(bad(
                        "SESAME_ORIGIN",
                        format!("{o:?}: http is only allowed for localhost"),
                    ));
                }
                Ok(url)
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
