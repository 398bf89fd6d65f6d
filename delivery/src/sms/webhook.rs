//! A signed webhook to a gateway of the operator's own.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::{check_recipient, config, describe, http_client, parse_http_url};
use crate::{BoxFuture, DeliveryError, SmsSender};

/// Header carrying the webhook's signature: `sha256=<hex>`; see [`WebhookSmsSender`].
pub const SIGNATURE_HEADER: &str = "X-Sesame-Signature";
/// Header carrying the webhook's time stamp (Unix seconds); see [`WebhookSmsSender`].
pub const TIMESTAMP_HEADER: &str = "X-Sesame-Timestamp";

/// Shortest webhook secret accepted, in bytes.
const MIN_WEBHOOK_SECRET_LEN: usize = 16;

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
