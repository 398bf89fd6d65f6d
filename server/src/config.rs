//! Configuration: one documented struct, read from an optional TOML file and then from
//! `SESAME_*` environment variables (which win). Every field has a default, so
//! `cargo run --release` works with no configuration at all.

mod redact;
mod validate;

pub use redact::redacted_database_url;

use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Deserializer, Serialize};

/// Sesame's configuration. Environment variable = `SESAME_` + the field name in upper case.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `SESAME_LISTEN`: the address the HTTP server binds to.
    pub listen: String,
    /// `SESAME_DATABASE_URL`: `sqlite://path/to/file.db` or `postgres://user@host/db`
    /// (`sqlite::memory:` for a throw-away server: everything is gone when it stops).
    pub database_url: String,
    /// `SESAME_DATABASE_MAX_CONNECTIONS`: connections to PostgreSQL (when 4 or more, a sixth of
    /// them, at least two, are kept out of the pool for the session check and the log-in's
    /// look-up, see `db::pinned::pinned_connections`). SQLite uses one writing connection and up
    /// to three readers, never more than this in all (1 to 10000).
    pub database_max_connections: u32,
    /// `SESAME_DATA_DIR`: where the generated server key lives (`server.key`, mode 0600).
    pub data_dir: PathBuf,
    /// `SESAME_SERVER_KEY`: 64 hex digits; when unset, a key is generated into the data directory.
    /// It keys stand-in credential ids, code hashes and the encryption of TOTP secrets at rest.
    pub server_key: Option<String>,
    /// `SESAME_RP_ID`: the WebAuthn relying-party id (a registrable domain). Changing it
    /// invalidates every passkey.
    pub rp_id: String,
    /// `SESAME_RP_NAME`: the name shown by authenticators and authenticator apps (not empty,
    /// no `:`, which the TOTP key URI reserves).
    pub rp_name: String,
    /// `SESAME_ORIGIN`: the web origin(s) pages are served from, comma-separated; each host must
    /// be the RP id or a subdomain of it. The first one is the primary origin.
    #[serde(deserialize_with = "comma_list")]
    pub origin: Vec<String>,
    /// `SESAME_SESSION_IDLE_SECS`: a session unused for this long ends.
    pub session_idle_secs: u64,
    /// `SESAME_SESSION_LIFETIME_SECS`: a session ends this long after it was created, whatever happens.
    pub session_lifetime_secs: u64,
    /// `SESAME_SESSION_LIMIT`: sessions one account may have at once; a log-in beyond it ends
    /// the account's least recently used ones (1 to 100000; 0: no limit).
    pub session_limit: u32,
    /// `SESAME_EVENT_RETENTION_DAYS`: security activity (`GET /api/v1/account/events`) older
    /// than this many days is deleted; 0 keeps it for ever.
    pub event_retention_days: u64,
    /// `SESAME_REAUTH_WINDOW_SECS`: how recent an authentication must be for sensitive changes
    /// (at least 1).
    pub reauth_window_secs: u64,
    /// `SESAME_TRUSTED_PROXIES`: peer IPs whose `X-Forwarded-For` is believed, comma-separated.
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// `SESAME_SMTP_URL`: `smtp://user:pass@host:port` (STARTTLS), `smtp://host:port?tls=none`,
    /// `smtps://…` (implicit TLS). Unset: with only `localhost` origins (development) emails,
    /// codes included, are written to the log; with any other origin no email can be sent.
    pub smtp_url: Option<String>,
    /// `SESAME_MAIL_FROM`: the From address of emails.
    pub mail_from: Option<String>,
    /// `SESAME_SMS_PROVIDER`: `log` (the default with only `localhost` origins: texts, codes
    /// included, are written to the log), `twilio` or `webhook`. With any other origin and no
    /// provider no text can be sent, and `log` is refused.
    pub sms_provider: Option<String>,
    /// `SESAME_TWILIO_ACCOUNT_SID`: the Twilio account SID (Twilio is used when it is set and
    /// `SESAME_SMS_PROVIDER` is unset).
    pub twilio_account_sid: Option<String>,
    /// `SESAME_TWILIO_AUTH_TOKEN`: the Twilio auth token (a secret).
    pub twilio_auth_token: Option<String>,
    /// `SESAME_TWILIO_FROM`: the sending number (E.164) or alphanumeric sender id.
    pub twilio_from: Option<String>,
    /// `SESAME_TWILIO_MESSAGING_SERVICE_SID`: a messaging service, used instead of
    /// `SESAME_TWILIO_FROM` when set.
    pub twilio_messaging_service_sid: Option<String>,
    /// `SESAME_TWILIO_BASE_URL`: the Twilio API base URL; unset: `https://api.twilio.com`.
    pub twilio_base_url: Option<String>,
    /// `SESAME_SMS_WEBHOOK_URL`: where the `webhook` provider POSTs each SMS (HMAC-SHA256 signed).
    pub sms_webhook_url: Option<String>,
    /// `SESAME_SMS_WEBHOOK_SECRET`: the webhook's signing secret.
    pub sms_webhook_secret: Option<String>,
    /// `SESAME_IP_RATE_LIMIT`: `on` (default) or `off` (trusted load tests only; also turns
    /// `SESAME_CLIENT_CODES_PER_HOUR` off).
    pub ip_rate_limit: String,
    /// `SESAME_IP_RATE_LIMIT_PER_MINUTE`: sustained requests per minute one client address may
    /// make to the public POST endpoints (sign-up, log-in); over it, 429 with `Retry-After`.
    pub ip_rate_limit_per_minute: u32,
    /// `SESAME_IP_RATE_LIMIT_BURST`: how many of those requests one address may make at once.
    pub ip_rate_limit_burst: u32,
    /// `SESAME_CLIENT_CODES_PER_HOUR`: codes sent (email or SMS) to addresses being proven,
    /// for sign-ups and new contacts, for one client address (IPv6 per /64) in an hour, whatever
    /// the addresses they go to; over it, 429 with `Retry-After` (1 to 100000; off with
    /// `SESAME_IP_RATE_LIMIT=off`).
    pub client_codes_per_hour: u32,
    /// `SESAME_REQUEST_TIMEOUT_SECS`: a request not answered within this time (body read
    /// included) gets 503 and its work is abandoned (1 to 86400).
    pub request_timeout_secs: u64,
    /// `SESAME_HEADER_READ_TIMEOUT_SECS`: a connection that does not deliver a complete request
    /// head within this time (slow clients, idle keep-alive connections) is closed (1 to 86400).
    pub header_read_timeout_secs: u64,
    /// `SESAME_SHUTDOWN_DRAIN_SECS`: after SIGTERM (or Ctrl-C), keep serving this long with
    /// `/readyz` answering 503, so that a load balancer takes the instance out before it stops
    /// accepting connections; a second signal ends the drain at once (0 to 3600; 0: no drain).
    pub shutdown_drain_secs: u64,
    /// `SESAME_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: String,
    /// `SESAME_METRICS_LISTEN`: serve Prometheus metrics at `/metrics` on this separate address
    /// (e.g. `127.0.0.1:9090`, reachable only by the scraper), not on `SESAME_LISTEN`.
    pub metrics_listen: Option<String>,
    /// `SESAME_METRICS_TOKEN`: a bearer token (16+ characters) `/metrics` requires. Without
    /// `SESAME_METRICS_LISTEN`, `/metrics` is then served on `SESAME_LISTEN`; with neither set
    /// there is no `/metrics`.
    pub metrics_token: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/sesame.db".into(),
            database_max_connections: 12,
            data_dir: PathBuf::from("data"),
            server_key: None,
            rp_id: "localhost".into(),
            rp_name: "Sesame".into(),
            origin: vec!["http://localhost:8080".into()],
            session_idle_secs: 7 * 24 * 3600,
            session_lifetime_secs: 30 * 24 * 3600,
            session_limit: 100,
            event_retention_days: 365,
            reauth_window_secs: 600,
            trusted_proxies: Vec::new(),
            smtp_url: None,
            mail_from: None,
            sms_provider: None,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_messaging_service_sid: None,
            twilio_base_url: None,
            sms_webhook_url: None,
            sms_webhook_secret: None,
            ip_rate_limit: "on".into(),
            ip_rate_limit_per_minute: 60,
            ip_rate_limit_burst: 30,
            client_codes_per_hour: 10,
            request_timeout_secs: 30,
            header_read_timeout_secs: 20,
            shutdown_drain_secs: 0,
            log_format: "text".into(),
            metrics_listen: None,
            metrics_token: None,
        }
    }
}

/// A configuration problem, named by its setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {setting}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub reason: String,
}

fn bad(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

impl Config {
    /// Defaults, then the TOML file (if given), then `SESAME_*` variables; then validated.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(bad(
                    "--config",
                    format!("{} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        // Only variables naming a field are read: SESAME_TEST_* and friends belong to others.
        // figment reads a variable's value as a number, a boolean or an array when it looks
        // like one, so a secret of digits (`SESAME_METRICS_TOKEN=8675309867530986753`) would be
        // refused as "found unsigned int …", its value in the message: the settings that take
        // text (strings, optional strings, lists, paths: every default that is not a number)
        // get the variable's text as it is.
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let fields = defaults.as_object().cloned().unwrap_or_default();
        let takes_text = |name: &str| fields.get(name).is_some_and(|v| !v.is_number());
        for (name, value) in std::env::vars_os() {
            let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
                continue;
            };
            let Some(field) = name.strip_prefix("SESAME_").map(str::to_ascii_lowercase) else {
                continue;
            };
            if takes_text(&field) {
                figment = figment.merge(Serialized::default(&field, value));
            }
        }
        let numbers: Vec<String> = fields
            .iter()
            .filter(|(_, v)| v.is_number())
            .map(|(k, _)| k.clone())
            .collect();
        let config: Config = figment
            .merge(Env::prefixed("SESAME_").filter_map(move |k| {
                let k = k.as_str().to_ascii_lowercase();
                numbers.contains(&k).then(|| k.into())
            }))
            .extract()
            .map_err(|e| bad("configuration", redact::load_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// The primary origin (first configured), serialised as browsers send it in `Origin`.
    pub fn primary_origin(&self) -> String {
        self.origin
            .first()
            .map(|o| canonical_origin(o))
            .unwrap_or_default()
    }

    /// Every configured origin, serialised as browsers send it in `Origin`.
    pub fn canonical_origins(&self) -> Vec<String> {
        self.origin.iter().map(|o| canonical_origin(o)).collect()
    }

    /// Is an SMTP server set (`SESAME_SMTP_URL` neither unset nor blank)?
    pub fn smtp_configured(&self) -> bool {
        self.smtp_url
            .as_deref()
            .is_some_and(|url| !url.trim().is_empty())
    }

    /// `https` origins get `__Host-` cookies with `Secure`. Decided on the parsed origin, as
    /// every other use of it is: `HTTPS://…` or a leading space is https too.
    pub fn secure_cookies(&self) -> bool {
        self.primary_origin().starts_with("https://")
    }
}

/// `origin` as its parsed URL serialises it (WHATWG URL: scheme and host in lower case, the
/// host in ASCII, no default port, no trailing slash, surrounding spaces gone); as written,
/// less a trailing slash, when it does not parse ([`Config::validate`] refuses it then).
fn canonical_origin(origin: &str) -> String {
    url::Url::parse(origin).map_or_else(
        |_| origin.trim_end_matches('/').to_owned(),
        |url| url.origin().ascii_serialization(),
    )
}

/// Accept either a TOML array or one comma-separated string (as environment variables give).
fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        Either::Many(v) => v,
    })
}
