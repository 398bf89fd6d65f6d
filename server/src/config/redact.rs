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

/// What figment says of a configuration that does not load, without the values it found. Its
/// own messages quote them: `found unsigned int `8675309867530986753`` for a token of digits
/// written as a TOML number, and a TOML syntax error quotes the whole line (`server_key =
/// 9f86…` when the quotes were left out, `smtp_url = smtp://user:password@host`). Such a
/// message goes to stderr, and from there to journald or a container's log (OWASP ASVS 5.0
/// V13.3: secrets not in logs). What is said instead: what was expected, the setting, and where
/// it came from (the file's path, or the `SESAME_` variables).
pub fn load_error(error: figment::Error) -> String {
    use figment::error::Kind;
    let said: Vec<String> = error
        .into_iter()
        .map(|e| {
            let what = match &e.kind {
                Kind::InvalidType(_, expected) => format!("wrong type, expected {expected}"),
                Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
                Kind::UnknownVariant(_, expected) => {
                    format!("unknown value, expected one of {}", expected.join(", "))
                }
                Kind::Message(message) => without_quoted_source(message),
                Kind::Unsupported(_) | Kind::UnsupportedKey(..) => "unsupported value".into(),
                kind => kind.to_string(),
            };
            let setting = match e.path.join(".") {
                path if path.is_empty() => String::new(),
                path => format!(" for `{path}`"),
            };
            let source = e
                .metadata
                .as_ref()
                .map_or_else(String::new, |m| match &m.source {
                    Some(source) => format!(" in {} {source}", m.name),
                    None => format!(" in {}", m.name),
                });
            format!("{what}{setting}{source}")
        })
        .collect();
    said.join("; ")
}

/// A TOML syntax error (toml_edit) without its quote of the source: the lines drawn as
/// `  |`, `3 | the line itself`, `  |   ^`.
fn without_quoted_source(message: &str) -> String {
    let quoted = |line: &str| {
        line.split_once('|')
            .is_some_and(|(margin, _)| margin.trim().chars().all(|c| c.is_ascii_digit()))
    };
    let kept: Vec<&str> = message
        .lines()
        .filter(|line| !quoted(line))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    match kept.split_first() {
        Some((first, rest)) if !rest.is_empty() => format!("{first}: {}", rest.join(" ")),
        _ => kept.join(" "),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Config;

    /// A configuration file that does not load is refused without its values: a secret whose
    /// quotes were left out, or written as a number, is not repeated in the message.
    #[test]
    fn a_file_that_does_not_load_is_refused_without_repeating_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        for (text, secret, said) in [
            (format!("server_key = {hex}\n"), hex, "line 1"),
            (
                "origin = [\"https://id.example.com\"]\nsmtp_url = smtp://mailer:hunter2hunter2@mail.example.com\n".into(),
                "hunter2hunter2",
                "line 2",
            ),
            (
                "metrics_token = 8675309867530986753\n".into(),
                "8675309867530986753",
                "`metrics_token`",
            ),
        ] {
            let path = dir.path().join("sesame.toml");
            std::fs::write(&path, &text).unwrap();
            let refused = Config::load(Some(&path)).unwrap_err().to_string();
            assert!(!refused.contains(secret), "{text}: {refused}");
            assert!(refused.contains(said), "{text}: {refused}");
            assert!(refused.contains("sesame.toml"), "{text}: {refused}");
        }
    }
}
