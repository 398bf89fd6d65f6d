//! Outgoing messages for Sesame: one-time codes and security notices by email (SMTP) and SMS
//! (Twilio's REST API or a signed webhook).
//!
//! * [`EmailSender`] and [`SmsSender`] are object-safe traits, meant to be held as
//!   `Arc<dyn EmailSender>` / `Arc<dyn SmsSender>` (see [`build_email_sender`] and
//!   [`build_sms_sender`]).
//! * [`DeliveryError::Unavailable`] means the channel is down or refused the message; its text
//!   never contains the message body (and so never a code).
//! * The only place a code can reach a log is [`LogEmailSender`] / [`LogSmsSender`], the
//!   development stand-ins used when no SMTP server or SMS provider is configured.
//!
//! Logging note: lettre's `tracing` feature logs the whole SMTP transcript (the message, and the
//! base64 AUTH exchange) at debug level. [`SmtpEmailSender`] therefore runs lettre's futures with a
//! no-op subscriber, so that no log filter can ever capture a code or an SMTP password from there.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

mod messages;
mod sms;
mod smtp;

pub use messages::{
    CodePurpose, code_email, code_sms, code_sms_origin_bound, security_notice_email,
    security_notice_sms,
};
pub use sms::{
    LogSmsSender, SIGNATURE_HEADER, SmsConfig, TIMESTAMP_HEADER, TwilioSmsSender, WebhookSmsSender,
    build_sms_sender, is_valid_e164, webhook_signature,
};
pub use smtp::{LogEmailSender, SmtpEmailSender, build_email_sender, is_valid_email};

/// The sender of a channel that is not configured on a server that is not in development:
/// every send fails ([`DeliveryError::Unavailable`]) and nothing, least of all the message,
/// is written anywhere. (In development the log stand-ins, [`LogEmailSender`] and
/// [`LogSmsSender`], show the messages instead.)
#[derive(Clone, Copy, Debug)]
pub struct NotConfigured(pub &'static str);

impl EmailSender for NotConfigured {
    fn configured(&self) -> bool {
        false
    }

    fn send(&self, _mail: OutgoingEmail) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(async move {
            Err(DeliveryError::Unavailable(format!(
                "no {} configured",
                self.0
            )))
        })
    }
}

impl SmsSender for NotConfigured {
    fn configured(&self) -> bool {
        false
    }

    fn send(&self, _to_e164: &str, _body: &str) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(async move {
            Err(DeliveryError::Unavailable(format!(
                "no {} configured",
                self.0
            )))
        })
    }
}

/// A boxed, `Send` future: what the sender traits return, so that they stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Network timeout used by every sender: connecting, and the whole HTTP request of an SMS.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest one email may take, connecting included: lettre bounds only the connect, and a
/// server that stops answering halfway would hold the request (and a background notice, or
/// an admin command) for ever. Below the default request limit (30 s), so the client gets
/// the sender's own `Unavailable`.
pub const SMTP_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// One email: a plain-text part and an HTML part with the same content.
///
/// Its `Debug` output shows the recipient and subject only: the body may hold a code.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Recipient address (`user@example.com`, or `Name <user@example.com>`).
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl OutgoingEmail {
    /// Builds an email from the `(subject, text, html)` triple that [`code_email`] and
    /// [`security_notice_email`] return.
    pub fn new(to: impl Into<String>, (subject, text, html): (String, String, String)) -> Self {
        Self {
            to: to.into(),
            subject,
            text,
            html,
        }
    }
}

/// Why a message could not be sent.
#[derive(thiserror::Error, Debug)]
pub enum DeliveryError {
    /// The sender is misconfigured (bad URL, missing credentials), or the message itself cannot
    /// be sent (a malformed recipient address or phone number).
    #[error("delivery configuration error: {0}")]
    Config(String),
    /// The channel is down or refused the message. The text never contains the message body.
    #[error("delivery channel unavailable: {0}")]
    Unavailable(String),
}

/// Sends email. Object-safe: use it as `Arc<dyn EmailSender>`.
pub trait EmailSender: Send + Sync + Debug {
    fn send(&self, mail: OutgoingEmail) -> BoxFuture<'_, Result<(), DeliveryError>>;

    /// False for [`NotConfigured`]: every send would fail, so callers may skip it.
    fn configured(&self) -> bool {
        true
    }
}

/// Sends SMS. Object-safe: use it as `Arc<dyn SmsSender>`.
pub trait SmsSender: Send + Sync + Debug {
    /// `to_e164` is a phone number in E.164 form (`+` and 8 to 15 digits).
    fn send(&self, to_e164: &str, body: &str) -> BoxFuture<'_, Result<(), DeliveryError>>;

    /// False for [`NotConfigured`]: every send would fail, so callers may skip it.
    fn configured(&self) -> bool {
        true
    }
}

impl<T: EmailSender + ?Sized> EmailSender for Arc<T> {
    fn send(&self, mail: OutgoingEmail) -> BoxFuture<'_, Result<(), DeliveryError>> {
        (**self).send(mail)
    }
}

impl<T: SmsSender + ?Sized> SmsSender for Arc<T> {
    fn send(&self, to_e164: &str, body: &str) -> BoxFuture<'_, Result<(), DeliveryError>> {
        (**self).send(to_e164, body)
    }
}

/// Installs rustls' ring crypto provider as the process default (a no-op when one is installed).
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Replaces control characters (CR, LF, ...) by spaces: for text that goes into a header or a
/// single log line.
pub(crate) fn single_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
