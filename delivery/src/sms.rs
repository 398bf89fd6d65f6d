//! SMS: Twilio's Messages API, a signed webhook, and the development stand-in that writes to
//! the log.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::{Host, Url};

use crate::{BoxFuture, DeliveryError, SmsSender, TIMEOUT, single_line};

/// Header carrying the webhook's signature: `sha256=<hex>`; see [`WebhookSmsSender`].
pub const SIGNATURE_HEADER: &str = "X-Sesame-Signature";
/// Header carrying the webhook's time stamp (Unix seconds); see [`WebhookSmsSender`].
pub const TIMESTAMP_HEADER: &str = "X-Sesame-Timestamp";

/// Shortest webhook secret accepted, in bytes.
const MIN_WEBHOOK_SECRET_LEN: usize = 16;

const DEFAULT_TWILIO_BASE_URL: &str = "https://api.twilio.com";

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

/// Who Twilio sends as.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TwilioSender {
    From(String),
    MessagingService(String),
}

/// Sends SMS through Twilio's Messages REST API:
/// `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, form-encoded `To`, `From`
/// (or `MessagingServiceSid`) and `Body`, with HTTP basic auth `account_sid:auth_token`.
///
/// A transport error or a non-2xx answer gives [`DeliveryError::Unavailable`]; only the HTTP
/// status and Twilio's numeric error code are logged, never what was sent.
pub struct TwilioSmsSender {
    client: reqwest::Client,
    messages_url: Url,
    account_sid: String,
    auth_token: String,
    sender: TwilioSender,
}

impl fmt::Debug for TwilioSmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSmsSender")
            .field("messages_url", &self.messages_url.as_str())
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// The part of Twilio's error answer that is logged.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
}

impl TwilioSmsSender {
    /// `from` is the sending number or sender id; `messaging_service_sid` is used instead when
    /// set (one of the two is required). `base_url` defaults to `https://api.twilio.com`.
    pub fn new(
        account_sid: &str,
        auth_token: &str,
        from: Option<&str>,
        messaging_service_sid: Option<&str>,
        base_url: Option<&str>,
    ) -> Result<Self, DeliveryError> {
        let account_sid = account_sid.trim();
        if account_sid.is_empty() || !account_sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(config(
                "the Twilio account SID must be set and alphanumeric",
            ));
        }
        let auth_token = auth_token.trim();
        if auth_token.is_empty() {
            return Err(config("the Twilio auth token must be set"));
        }
        let sender = match (nonblank(messaging_service_sid), nonblank(from)) {
            (Some(service), _) => TwilioSender::MessagingService(service.to_owned()),
            (None, Some(from)) => TwilioSender::From(from.to_owned()),
            (None, None) => {
                return Err(config(
                    "Twilio needs a from number or a messaging service SID",
                ));
            }
        };

        let mut messages_url = parse_http_url(
            nonblank(base_url).unwrap_or(DEFAULT_TWILIO_BASE_URL),
            "the Twilio base URL",
        )?;
        messages_url.set_query(None);
        messages_url.set_fragment(None);
        messages_url
            .path_segments_mut()
            .map_err(|()| config("the Twilio base URL cannot have a path"))?
            .pop_if_empty()
            .extend(["2010-04-01", "Accounts", account_sid, "Messages.json"]);

        Ok(Self {
            client: http_client()?,
            messages_url,
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            sender,
        })
    }

    #[tracing::instrument(name = "twilio_send", skip_all)]
    async fn deliver(&self, to_e164: &str, body: &str) -> Result<(), DeliveryError> {
        check_recipient(to_e164)?;
        let (sender_field, sender_value) = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [
            ("To", to_e164),
            (sender_field, sender_value),
            ("Body", body),
        ];
        let response = self
            .client
            .post(self.messages_url.clone())
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                let reason = describe(e);
                tracing::warn!(error = %reason, "Twilio request failed");
                DeliveryError::Unavailable(format!("Twilio: {reason}"))
            })?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(status = status.as_u16(), "SMS accepted by Twilio");
            return Ok(());
        }
        let code = response
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<TwilioError>(&b).ok())
            .and_then(|e| e.code);
        tracing::warn!(
            status = status.as_u16(),
            twilio_code = code,
            "Twilio refused the SMS"
        );
        Err(DeliveryError::Unavailable(match code {
            Some(code) => format!("Twilio answered HTTP {} (error {code})", status.as_u16()),
            None => format!("Twilio answered HTTP {}", status.as_u16()),
        }))
    }
}

impl SmsSender for TwilioSmsSender {
    fn send(&self, to_e164: &str, body: &str) -> BoxFuture<'_, Result<(), DeliveryError>> {
        let to = to_e164.to_owned();
        let body = body.to_owned();
        Box::pin(async move { self.deliver(&to, &body).await })
    }
}

/// Sends SMS by POSTing JSON `{"to": "+15551234567", "body": "..."}` to a URL, for a gateway of
/// your own.
///
/// Each request carries two headers:
///
/// * `X-Sesame-Timestamp: <unix seconds>`
/// * `X-Sesame-Signature: sha256=<hex>`, where hex is the lower-case HMAC-SHA256, keyed with the
///   shared secret, of the bytes `"<timestamp>.<raw body>"`: the timestamp header's value, a
///   `.`, then the request body exactly as received.
///
/// The receiver should recompute the MAC over the raw body before parsing it, compare in
/// constant time, and refuse a timestamp more than a few minutes from its own clock: since the
/// timestamp is inside the MAC, an old request cannot be replayed with a fresh timestamp.
/// [`webhook_signature`] computes the header value.
///
/// Any 2xx answer is success; a transport error or another status gives
/// [`DeliveryError::Unavailable`] (only the status is logged). Redirects are not followed.
pub struct WebhookSmsSender {
    client: reqwest::Client,
    url: Url,
    /// HMAC-SHA256 keyed with the shared secret.
    mac: Hmac<Sha256>,
}

impl fmt::Debug for WebhookSmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSmsSender")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The `X-Sesame-Signature` value for a webhook request: `sha256=` and the lower-case hex
/// HMAC-SHA256 (key `secret`) of `"<timestamp>.<body>"`.
pub fn webhook_signature(
    secret: &[u8],
    timestamp: u64,
    body: &[u8],
) -> Result<String, DeliveryError> {
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .map_err(|_| config("invalid webhook secret"))?;
    Ok(sign(mac, timestamp, body))
}

fn sign(mut mac: Hmac<Sha256>, timestamp: u64, body: &[u8]) -> String {
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * tag.len());
    out.push_str("sha256=");
    for byte in tag {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

impl WebhookSmsSender {
    /// `secret` must be at least 16 bytes (use 32 random bytes, e.g. `openssl rand -hex 32`).
    pub fn new(url: &str, secret: &str) -> Result<Self, DeliveryError> {
        let url = parse_http_url(url, "the SMS webhook URL")?;
        if secret.len() < MIN_WEBHOOK_SECRET_LEN {
            return Err(config(format!(
                "the SMS webhook secret must be at least {MIN_WEBHOOK_SECRET_LEN} characters"
            )));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
            .map_err(|_| config("invalid SMS webhook secret"))?;
        Ok(Self {
            client: http_client()?,
            url,
            mac,
        })
    }

    #[tracing::instrument(name = "webhook_send", skip_all)]
    async fn deliver(&self, to_e164: &str, body: &str) -> Result<(), DeliveryError> {
        check_recipient(to_e164)?;
        let payload = serde_json::to_vec(&serde_json::json!({ "to": to_e164, "body": body }))
            .map_err(|e| config(format!("cannot encode the webhook body: {e}")))?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let signature = sign(self.mac.clone(), timestamp, &payload);
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(payload)
            .send()
            .await
            .map_err(|e| {
                let reason = describe(e);
                tracing::warn!(error = %reason, "SMS webhook request failed");
                DeliveryError::Unavailable(format!("SMS webhook: {reason}"))
            })?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(status = status.as_u16(), "SMS accepted by the webhook");
            Ok(())
        } else {
            tracing::warn!(status = status.as_u16(), "the SMS webhook refused the SMS");
            Err(DeliveryError::Unavailable(format!(
                "SMS webhook answered HTTP {}",
                status.as_u16()
            )))
        }
    }
}

impl SmsSender for WebhookSmsSender {
    fn send(&self, to_e164: &str, body: &str) -> BoxFuture<'_, Result<(), DeliveryError>> {
        let to = to_e164.to_owned();
        let body = body.to_owned();
        Box::pin(async move { self.deliver(&to, &body).await })
    }
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
    let provider = value(&cfg.provider).map(str::to_ascii_lowercase);
    let provider = match provider.as_deref() {
        Some(p) => p.to_owned(),
        None => match (value(&cfg.twilio_account_sid), value(&cfg.webhook_url)) {
            (Some(_), Some(_)) => {
                return Err(config(
                    "both Twilio and an SMS webhook are configured: set the SMS provider",
                ));
            }
            (Some(_), None) => "twilio".to_owned(),
            (None, Some(_)) => "webhook".to_owned(),
            (None, None) => "log".to_owned(),
        },
    };
    match provider.as_str() {
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
