//! Twilio's Messages API.

use std::fmt;

use serde::Deserialize;
use url::Url;

use super::{check_recipient, config, describe, http_client, nonblank, parse_http_url};
use crate::{BoxFuture, DeliveryError, SmsSender};

const DEFAULT_TWILIO_BASE_URL: &str = "https://api.twilio.com";

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
