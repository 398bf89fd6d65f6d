//! Keeping secrets out of what the configuration shows: its `Debug` (which can reach a log
//! line or a panic message) and the database URL in messages.

use super::Config;

/// The settings that hold a secret, shown as `"[redacted]"` by `Debug`.
const SECRET_SETTINGS: [&str; 5] = [
    "server_key",
    "smtp_url",
    "twilio_auth_token",
    "sms_webhook_secret",
    "metrics_token",
];

/// Every setting but the secrets (and the password in `database_url`): a `{:?}` of the
/// configuration, or of anything that holds it, can reach a log line or a panic message
/// (OWASP ASVS 5.0 V13.3: secrets not in logs).
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut value = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        if let Some(map) = value.as_object_mut() {
            for name in SECRET_SETTINGS {
                if let Some(secret) = map.get_mut(name).filter(|v| !v.is_null()) {
                    *secret = "[redacted]".into();
                }
            }
            map.insert(
                "database_url".into(),
                redacted_database_url(&self.database_url).into(),
            );
        }
        write!(f, "Config {value}")
    }
}

/// `url` with its password replaced by `redacted`; a URL that does not parse (where a password
/// cannot be found, e.g. one with an unescaped `#`) is left out whole, unless it is SQLite's.
pub fn redacted_database_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("redacted")).is_err() {
                return "[redacted]".into();
            }
            parsed.as_str().to_owned()
        }
        Err(_) => "[redacted: not a URL]".into(),
    }
}
