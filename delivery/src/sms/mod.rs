//! SMS: Twilio's Messages API, a signed webhook, and the development stand-in that writes to
//! the log.

mod twilio;
mod webhook;

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use url::{Host, Url};

use crate::{BoxFuture, DeliveryError, SmsSender, TIMEOUT, single_line};

pub use twilio::TwilioSmsSender;
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSmsSender, webhook_signature};

/// SMS settings, as read from the server's configuration.
///
/// `provider` is `"log"`, `"twilio"` or `"webhook"`. When it is unset, it is inferred: Twilio
/// when `twilio_account_sid` is set, the webhook when `webhook_url` is set, else the log.
#[derive(Deserialize, Clone, Default, PartialEq, Eq)]
pub struct SmsConfig {
    pub provider: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    /// The sending number (E.164) or alphanumeric sender id.
    pub twilio_from: Option<String>,
    /// Used instead of `twilio_from` when set.
    pub twilio_messaging_service_sid: Option<String>,
    /// Defaults to `https://api.twilio.com`.
    pub twilio_base_url: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

impl SmsConfig {
    /// The provider [`build_sms_sender`] uses: `provider` in lower case when set, else the one
    /// inferred from the other settings (`"log"` when nothing is configured).
    pub fn provider_name(&self) -> Result<String, DeliveryError> {
        if let Some(provider) = value(&self.provider) {
            return Ok(provider.to_ascii_lowercase());
        }
        match (value(&self.twilio_account_sid), value(&self.webhook_url)) {
            (Some(_), Some(_)) => Err(config(
                "both Twilio and an SMS webhook are configured: set the SMS provider",
            )),
            (Some(_), None) => Ok("twilio".to_owned()),
            (None, Some(_)) => Ok("webhook".to_owned()),
            (None, None) => Ok("log".to_owned()),
        }
    }
}

impl fmt::Debug for SmsConfig {
    // The auth token and the webhook secret are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field("twilio_auth_token", &redacted(&self.twilio_auth_token))
            .field("twilio_from", &self.twilio_from)
            .field(
                "twilio_messaging_service_sid",
                &self.twilio_messaging_service_sid,
            )
            .field("twilio_base_url", &self.twilio_base_url)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &redacted(&self.webhook_secret))
            .finish()
    }
}

fn config(msg: impl Into<String>) -> DeliveryError {
    DeliveryError::Config(msg.into())
}

/// A set, non-blank value.
fn value(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// True when `s` is an E.164 phone number: `+`, then 7 to 15 digits, the first not `0`.
pub fn is_valid_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn check_recipient(to_e164: &str) -> Result<(), DeliveryError> {
    if is_valid_e164(to_e164) {
        Ok(())
    } else {
        Err(config("the recipient is not an E.164 phone number"))
    }
}

fn http_client() -> Result<reqwest::Client, DeliveryError> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sesame/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| config(format!("cannot build the HTTP client: {}", describe(e))))
}

/// An HTTP(S) URL without credentials; warns when it is plain HTTP to a host that is not
/// loopback.
fn parse_http_url(raw: &str, what: &str) -> Result<Url, DeliveryError> {
    let url = Url::parse(raw.trim()).map_err(|e| config(format!("{what} is invalid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config(format!("{what} must be an http or https URL")));
    }
    if url.host().is_none() {
        return Err(config(format!("{what} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config(format!("{what} must not contain credentials")));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        tracing::warn!(
            "{what} is plain http to a host that is not loopback: messages travel in clear text"
        );
    }
    Ok(url)
}

/// A reqwest error as one line, with its causes, without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let _ = write!(out, ": {s}");
        source = s.source();
    }
    single_line(&out)
}
/// Development stand-in: writes each SMS to the log at WARN level. The only place a code may
/// reach a log, and only when no SMS provider is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogSmsSender;

impl SmsSender for LogSmsSender {
    fn send(&self, to_e164: &str, body: &str) -> BoxFuture<'_, Result<(), DeliveryError>> {
        let to = single_line(to_e164);
        let body = body.to_owned();
        Box::pin(async move {
            tracing::warn!("DEVELOPMENT ONLY: no SMS provider configured; SMS to {to}: {body}");
            Ok(())
        })
    }
}

/// The SMS sender for the configuration (see [`SmsConfig`] for how the provider is chosen).
pub fn build_sms_sender(cfg: &SmsConfig) -> Result<Arc<dyn SmsSender>, DeliveryError> {
    match cfg.provider_name()?.as_str() {
        "log" => {
            tracing::warn!(
                "no SMS provider configured: texts (and the codes in them) are written to the log; development only"
            );
            Ok(Arc::new(LogSmsSender))
        }
        "twilio" => {
            let sid = value(&cfg.twilio_account_sid)
                .ok_or_else(|| config("Twilio needs twilio_account_sid"))?;
            let token = value(&cfg.twilio_auth_token)
                .ok_or_else(|| config("Twilio needs twilio_auth_token"))?;
            Ok(Arc::new(TwilioSmsSender::new(
                sid,
                token,
                value(&cfg.twilio_from),
                value(&cfg.twilio_messaging_service_sid),
                value(&cfg.twilio_base_url),
            )?))
        }
        "webhook" => {
            let url = value(&cfg.webhook_url)
                .ok_or_else(|| config("the SMS webhook needs webhook_url"))?;
            let secret = cfg
                .webhook_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| config("the SMS webhook needs webhook_secret"))?;
            Ok(Arc::new(WebhookSmsSender::new(url, secret)?))
        }
        other => Err(config(format!(
            "unknown SMS provider '{}' (use log, twilio or webhook)",
            single_line(other)
        ))),
    }
}
