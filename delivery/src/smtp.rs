//! Email over SMTP (lettre), and the development stand-in that writes emails to the log.

mod send;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::{Host, Url};

use crate::{
    BoxFuture, DeliveryError, EmailSender, OutgoingEmail, SMTP_SEND_TIMEOUT, TIMEOUT, single_line,
};

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsMode {
    /// Plain connection upgraded with STARTTLS; the send fails if the server does not offer it.
    StartTls,
    /// TLS from the first byte (`smtps://`, usually port 465).
    Implicit,
    /// No TLS at all (`?tls=none`): only for a relay on the same machine or a test sink.
    None,
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        })
    }
}

/// Sends email through an SMTP server (lettre's async transport).
///
/// Built from a URL by [`SmtpEmailSender::from_url`]:
///
/// | URL | connection |
/// |---|---|
/// | `smtp://user:pass@host:port` | STARTTLS, required (default port 587) |
/// | `smtp://host:port?tls=starttls` | the same, spelled out (`tls=required` is accepted too) |
/// | `smtp://host:port?tls=none` | plain text (default port 25): for a relay on loopback or a test sink |
/// | `smtps://user:pass@host:port` | implicit TLS (default port 465) |
///
/// `user` and `pass` are optional (no AUTH without them) and percent-decoded, so a password
/// with `@`, `:` or `/` is written `%40`, `%3A`, `%2F`. Connecting times out after [`TIMEOUT`],
/// a whole send after [`SMTP_SEND_TIMEOUT`]; each email has a connection of its own (no pool:
/// a connection whose send was cut off is never used again). Certificates are checked against
/// the Mozilla (webpki) roots.
///
/// Each email has a plain-text and an HTML part, a `Message-ID` in the sender's domain, a
/// `Date`, and `From` = the configured address.
pub struct SmtpEmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: TlsMode,
    auth: bool,
    send_timeout: std::time::Duration,
}

impl fmt::Debug for SmtpEmailSender {
    // Never shows credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpEmailSender")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .field("from", &self.from.to_string())
            .finish()
    }
}

fn config(msg: impl Into<String>) -> DeliveryError {
    DeliveryError::Config(msg.into())
}

fn decode_userinfo(part: &str, what: &str) -> Result<String, DeliveryError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            config(format!(
                "the SMTP URL's {what} is not valid UTF-8 once decoded"
            ))
        })
}

impl SmtpEmailSender {
    /// Parses `url` (see the type's docs) and `from` (`no-reply@example.com` or
    /// `Sesame <no-reply@example.com>`).
    ///
    /// Nothing is sent and no connection is made here. Must be called inside a tokio runtime
    /// (the sends run on it); outside one it returns `Config`.
    /// Error texts never repeat the URL, since it may hold a password.
    pub fn from_url(url: &str, from: &str) -> Result<Self, DeliveryError> {
        let parsed =
            Url::parse(url.trim()).map_err(|e| config(format!("invalid SMTP URL: {e}")))?;

        let scheme = parsed.scheme().to_owned();
        let mut tls_param: Option<String> = None;
        for (key, value) in parsed.query_pairs() {
            if key != "tls" {
                return Err(config(format!(
                    "unknown SMTP URL parameter '{}' (only 'tls' is known)",
                    single_line(&key)
                )));
            }
            if tls_param.replace(value.into_owned()).is_some() {
                return Err(config("the SMTP URL has more than one 'tls' parameter"));
            }
        }

        let tls = match (scheme.as_str(), tls_param.as_deref()) {
            ("smtp", None | Some("starttls" | "required")) => TlsMode::StartTls,
            ("smtp", Some("none")) => TlsMode::None,
            ("smtp", Some(other)) => {
                return Err(config(format!(
                    "unknown SMTP URL tls value '{}' (use starttls or none)",
                    single_line(other)
                )));
            }
            ("smtps", None | Some("implicit")) => TlsMode::Implicit,
            ("smtps", Some(_)) => {
                return Err(config(
                    "smtps:// always uses implicit TLS; drop the tls parameter",
                ));
            }
            (other, _) => {
                return Err(config(format!(
                    "unsupported SMTP URL scheme '{}' (use smtp or smtps)",
                    single_line(other)
                )));
            }
        };

        let (host, loopback) = match parsed.host() {
            // `smtp:` is not a "special" URL scheme, so an IP address arrives as a domain.
            Some(Host::Domain(d)) if !d.is_empty() => {
                let loopback = d.eq_ignore_ascii_case("localhost")
                    || d.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
                (d.to_owned(), loopback)
            }
            Some(Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(Host::Ipv6(ip)) => (ip.to_string(), IpAddr::V6(ip).is_loopback()),
            _ => return Err(config("the SMTP URL has no host")),
        };
        if !matches!(parsed.path(), "" | "/") {
            return Err(config("the SMTP URL must not have a path"));
        }
        let port = parsed.port().unwrap_or(match tls {
            TlsMode::StartTls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        });

        let user = decode_userinfo(parsed.username(), "user")?;
        let password = parsed
            .password()
            .map(|p| decode_userinfo(p, "password"))
            .transpose()?;
        let credentials = match (user.is_empty(), password) {
            (true, None) => None,
            (false, Some(password)) => Some(Credentials::new(user, password)),
            (true, Some(_)) => return Err(config("the SMTP URL has a password but no user")),
            (false, None) => return Err(config("the SMTP URL has a user but no password")),
        };

        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|e| config(format!("invalid from address: {e}")))?;

        if tokio::runtime::Handle::try_current().is_err() {
            return Err(config(
                "the SMTP sender must be built inside a tokio runtime",
            ));
        }
        crate::install_crypto_provider();

        let tls_setting = match tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls | TlsMode::Implicit => {
                let params = TlsParameters::new(host.clone())
                    .map_err(|e| config(format!("cannot set up TLS for the SMTP host: {e}")))?;
                if tls == TlsMode::StartTls {
                    Tls::Required(params)
                } else {
                    Tls::Wrapper(params)
                }
            }
        };
        if tls == TlsMode::None && !loopback {
            tracing::warn!(
                host = %host,
                "SMTP without TLS to a host that is not loopback: mail and credentials travel in clear text"
            );
        }

        let auth = credentials.is_some();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls_setting)
            .timeout(Some(TIMEOUT));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }

        Ok(Self {
            transport: builder.build(),
            from,
            host,
            port,
            tls,
            auth,
            send_timeout: SMTP_SEND_TIMEOUT,
        })
    }

    /// The same sender with another bound on a whole send (tests use a short one).
    pub fn with_send_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The configured `From` address.
    pub fn from_address(&self) -> &Mailbox {
        &self.from
    }
}

/// Development stand-in: writes each email's text to the log at WARN level. The only place a
/// code may reach a log, and only when no SMTP server is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogEmailSender;

impl EmailSender for LogEmailSender {
    fn send(&self, mail: OutgoingEmail) -> BoxFuture<'_, Result<(), DeliveryError>> {
        Box::pin(async move {
            tracing::warn!(
                "DEVELOPMENT ONLY: no SMTP configured; email to {}: {}",
                single_line(&mail.to),
                mail.text
            );
            Ok(())
        })
    }
}

/// True when `addr` is a plain email address (`user@example.com`) that the SMTP sender accepts
/// as a recipient. Use it to validate input before starting a ceremony.
pub fn is_valid_email(addr: &str) -> bool {
    addr.len() <= 254 && addr.parse::<Address>().is_ok()
}

/// The email sender for the configuration: SMTP when `smtp_url` is set (then `from` is
/// required), else [`LogEmailSender`]. An empty or blank URL counts as unset.
pub fn build_email_sender(
    smtp_url: Option<&str>,
    from: Option<&str>,
) -> Result<Arc<dyn EmailSender>, DeliveryError> {
    match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => {
            tracing::warn!(
                "no SMTP server configured: emails (and the codes in them) are written to the log; development only"
            );
            Ok(Arc::new(LogEmailSender))
        }
        Some(url) => {
            let from = from
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| config("an SMTP URL needs a from address"))?;
            Ok(Arc::new(SmtpEmailSender::from_url(url, from)?))
        }
    }
}
