//! One message the SMTP sink accepted, parsed, and the one-time code found in its text.

use mail_parser::{MessageParser, PartType};

/// One message the sink accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address.
    pub envelope_from: String,
    /// The `RCPT TO` addresses.
    pub recipients: Vec<String>,
    /// The name given in `EHLO` / `HELO`.
    pub helo: Option<String>,
    /// The user name given with `AUTH` on this connection, if any.
    pub auth_user: Option<String>,
    /// The password given with `AUTH` on this connection, if any.
    pub auth_password: Option<String>,
    /// The message as received after `DATA` (dot-unstuffed, CRLF line ends).
    pub raw: Vec<u8>,
    /// Parsed: the `Subject` header, decoded.
    pub subject: Option<String>,
    /// Parsed: the address in the `From` header.
    pub from: Option<String>,
    /// Parsed: the addresses in the `To` header.
    pub to: Vec<String>,
    /// Parsed: the `Message-ID` header, without angle brackets.
    pub message_id: Option<String>,
    /// Parsed: the `Date` header as written.
    pub date: Option<String>,
    /// Parsed: the first `text/plain` part, transfer-decoded.
    pub text: Option<String>,
    /// Parsed: the first `text/html` part, transfer-decoded.
    pub html: Option<String>,
}

impl ReceivedMail {
    pub(super) fn parse(mut self) -> Self {
        let parsed = MessageParser::default().parse(&self.raw);
        if let Some(msg) = parsed {
            self.subject = msg.subject().map(str::to_owned);
            self.from = msg
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_owned);
            self.to = msg
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            self.message_id = msg.message_id().map(str::to_owned);
            self.date = msg.header_raw("Date").map(|d| d.trim().to_owned());
            for part in &msg.parts {
                match &part.body {
                    PartType::Text(t) if self.text.is_none() => self.text = Some(t.to_string()),
                    PartType::Html(h) if self.html.is_none() => self.html = Some(h.to_string()),
                    _ => {}
                }
            }
        }
        self
    }

    /// The message as text (lossy UTF-8).
    pub fn raw_str(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first standalone 6-digit number in the plain-text body (not part of a longer run of
    /// digits or letters), e.g. a one-time code.
    pub fn find_code(&self) -> Option<String> {
        find_code_in(self.text.as_deref()?)
    }
}

/// The first run of exactly 6 ASCII digits with no digit or letter right before or after it.
pub(crate) fn find_code_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let before_ok = start == 0 || !chars[start - 1].is_alphanumeric();
            let after_ok = i == chars.len() || !chars[i].is_alphanumeric();
            if i - start == 6 && before_ok && after_ok {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_standalone_six_digits() {
        assert_eq!(
            find_code_in("Your code is:\n\n    123456\n"),
            Some("123456".into())
        );
        assert_eq!(
            find_code_in("ref 1234567 then 654321."),
            Some("654321".into())
        );
        assert_eq!(find_code_in("abc123456 x"), None);
        assert_eq!(find_code_in("#123456"), Some("123456".into()));
        assert_eq!(find_code_in("12345"), None);
    }
}
