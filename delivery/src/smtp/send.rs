//! Sending one email over SMTP: the MIME message (plain text and HTML, a `Message-ID` in the
//! sender's domain, a `Date`) and its hand-off to lettre, whose SMTP transcript never reaches
//! the application's log.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncTransport, Message};
use tracing::instrument::WithSubscriber;

use super::{SmtpEmailSender, config};
use crate::{BoxFuture, DeliveryError, EmailSender, OutgoingEmail, single_line};

impl SmtpEmailSender {
    fn build_message(&self, mail: OutgoingEmail) -> Result<Message, DeliveryError> {
        let to: Mailbox = ascii_domain(mail.to.trim())
            .parse()
            .map_err(|_| config("invalid recipient email address"))?;
        let message_id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.from.email.domain()
        );
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(single_line(&mail.subject))
            .message_id(Some(message_id))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| config(format!("cannot build the email: {e}")))
    }

    #[tracing::instrument(name = "smtp_send", skip_all)]
    async fn deliver(&self, mail: OutgoingEmail) -> Result<(), DeliveryError> {
        let message = self.build_message(mail)?;
        // lettre logs the SMTP transcript (message and AUTH) at debug level: keep it out of the
        // application's subscriber.
        let sending = self
            .transport
            .send(message)
            .with_subscriber(tracing::subscriber::NoSubscriber::default());
        let Ok(result) = tokio::time::timeout(self.send_timeout, sending).await else {
            tracing::warn!(host = %self.host, port = self.port, "SMTP delivery timed out");
            return Err(DeliveryError::Unavailable("SMTP: timed out".into()));
        };
        match result {
            Ok(_) => {
                tracing::debug!(host = %self.host, "email handed to the SMTP server");
                Ok(())
            }
            Err(e) => {
                // Only the kind and the reply code: the server's reply text often quotes the
                // recipient ("550 5.1.1 <bob@example.com>: Recipient address rejected"), and an
                // address is personal data a log should not hold (OWASP ASVS 5.0 V16.2.5).
                let kind = if e.is_permanent() {
                    "refused"
                } else if e.is_transient() {
                    "temporarily refused"
                } else if e.is_timeout() {
                    "timed out"
                } else if e.is_tls() {
                    "TLS failed"
                } else {
                    "connection or protocol error"
                };
                let code = e.status().map(|c| c.to_string()).unwrap_or_default();
                tracing::warn!(host = %self.host, port = self.port, kind, code, "SMTP delivery failed");
                Err(DeliveryError::Unavailable(format!("SMTP: {kind} {code}")))
            }
        }
    }
}

impl EmailSender for SmtpEmailSender {
    fn send(&self, mail: OutgoingEmail) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(self.deliver(mail))
    }
}

/// `address` with its domain in ASCII (IDNA A-labels, RFC 5890): `bob@exämple.org` goes out as
/// `bob@xn--exmple-cua.org`, which every server takes, where the Unicode form needs the
/// SMTPUTF8 extension (RFC 6531 §3.4) that many relays do not offer. As given when the domain
/// does not convert.
fn ascii_domain(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => address.to_owned(),
        },
        _ => address.to_owned(),
    }
}
