//! Message bodies: codes (email and SMS) and security notices.
//!
//! Every function returns plain text and, for email, HTML with the same content. Anything
//! interpolated into HTML is escaped; anything that goes into a subject or a one-line field has
//! its control characters replaced.

use std::fmt::Write as _;

use crate::single_line;

/// What a one-time code is for; it decides the wording of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// Creating an account with a code sent to an address.
    SignUp,
    /// Signing in.
    LogIn,
    /// Proving an address added to an existing account.
    VerifyContact,
    /// Confirming it's you before a sensitive change.
    Reauthenticate,
}

impl CodePurpose {
    /// "sign-in code", ...
    fn noun(self) -> &'static str {
        match self {
            CodePurpose::SignUp => "sign-up code",
            CodePurpose::LogIn => "sign-in code",
            CodePurpose::VerifyContact => "verification code",
            CodePurpose::Reauthenticate => "confirmation code",
        }
    }

    /// What entering the code does, after "Enter it ".
    fn action(self, rp_name: &str) -> String {
        match self {
            CodePurpose::SignUp => format!("to finish creating your {rp_name} account"),
            CodePurpose::LogIn => format!("to sign in to {rp_name}"),
            CodePurpose::VerifyContact => {
                format!("to confirm this address for your {rp_name} account")
            }
            CodePurpose::Reauthenticate => {
                format!("to confirm it's you before changing your {rp_name} account")
            }
        }
    }

    /// The closing line for someone who did not ask for the code.
    fn not_you(self, rp_name: &str) -> String {
        match self {
            CodePurpose::SignUp | CodePurpose::VerifyContact => {
                "If you didn't ask for this, someone may have typed your address by mistake; \
                 you can ignore this message."
                    .to_owned()
            }
            CodePurpose::LogIn | CodePurpose::Reauthenticate => format!(
                "If you didn't ask for this code, someone may be trying to get into your \
                 {rp_name} account; you can ignore this message, and they can't get in without \
                 the code."
            ),
        }
    }
}

/// Escapes text for HTML element content and attribute values.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line, at most `max` characters (an ellipsis marks a cut).
fn field(s: &str, max: usize) -> String {
    let s = single_line(s);
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

fn minutes(n: u32) -> String {
    if n == 1 {
        "1 minute".to_owned()
    } else {
        format!("{n} minutes")
    }
}

/// Wraps HTML paragraphs in a minimal, mail-client-safe document.
fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:24px;background:#f6f6f6;font-family:-apple-system,\
         'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f1f1f;line-height:1.5\">\n\
         <div style=\"max-width:480px;margin:0 auto;background:#ffffff;border-radius:8px;\
         padding:24px\">\n{body}</div>\n</body>\n</html>\n"
    )
}

/// An email with a one-time code: `(subject, text, html)`. The code is not in the subject, so
/// it does not show on a lock screen's notification.
pub fn code_email(
    purpose: CodePurpose,
    code: &str,
    rp_name: &str,
    minutes_valid: u32,
) -> (String, String, String) {
    let rp = field(rp_name, 100);
    let code = field(code, 64);
    let noun = purpose.noun();
    let action = purpose.action(&rp);
    let valid = minutes(minutes_valid);
    let not_you = purpose.not_you(&rp);

    let subject = format!("Your {rp} {noun}");
    let text = format!(
        "Your {rp} {noun} is:\n\n    {code}\n\n\
         Enter it {action}. It expires in {valid}.\n\n\
         Don't share this code with anyone: {rp} will never ask you for it.\n\
         {not_you}\n"
    );

    let h = html_escape;
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>Your {rp} {noun} is:</p>\n\
         <p style=\"font-size:32px;font-weight:bold;letter-spacing:6px;\
         font-family:ui-monospace,Menlo,Consolas,monospace;margin:16px 0\">{code}</p>\n\
         <p>Enter it {action}. It expires in {valid}.</p>\n\
         <p>Don't share this code with anyone: {rp} will never ask you for it.</p>\n\
         <p style=\"color:#666666;font-size:14px\">{not_you}</p>\n",
        rp = h(&rp),
        noun = h(noun),
        code = h(&code),
        action = h(&action),
        valid = h(&valid),
        not_you = h(&not_you),
    );
    let html = html_document(&h(&subject), &body);
    (subject, text, html)
}

/// A text message with a one-time code, e.g.
/// `123456 is your Sesame sign-in code. It expires in 10 minutes. Don't share it.`
pub fn code_sms(purpose: CodePurpose, code: &str, rp_name: &str, minutes_valid: u32) -> String {
    format!(
        "{code} is your {rp} {noun}. It expires in {valid}. Don't share it.",
        code = field(code, 64),
        rp = field(rp_name, 60),
        noun = purpose.noun(),
        valid = minutes(minutes_valid),
    )
}

/// [`code_sms`] plus the origin-bound one-time-code line `@<rp_id> #<code>` (the WebOTP / iOS
/// format), so that a browser on `rp_id` can offer to fill the code in. The line is left out
/// when `rp_id` is not a plain host name.
pub fn code_sms_origin_bound(
    purpose: CodePurpose,
    code: &str,
    rp_name: &str,
    rp_id: &str,
    minutes_valid: u32,
) -> String {
    let mut sms = code_sms(purpose, code, rp_name, minutes_valid);
    let host_ok = !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let code_ok = !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric());
    if host_ok && code_ok {
        let _ = write!(sms, "\n\n@{rp_id} #{code}");
    }
    sms
}

/// A text message telling the account holder about a security-relevant change, for an account
/// with no email address to send [`security_notice_email`] to, e.g.
/// `Sesame security notice: A passkey was added to your account (2026-12-07T23:40:12Z). If it
/// wasn't you, sign in to Sesame now and review your account.`
///
/// Short: no IP address or device, which the account page's activity shows, and every part cut
/// to one line and a length (without an ellipsis, which is not in the GSM 7-bit alphabet), so
/// that with plain-ASCII parts it fits two SMS segments (306 characters). A service name
/// outside the GSM 7-bit alphabet (`SESAME_RP_NAME`) makes the text UCS-2, four segments.
pub fn security_notice_sms(what: &str, when_rfc3339: &str, rp_name: &str) -> String {
    let cut = |s: &str, max: usize| -> String { single_line(s).trim().chars().take(max).collect() };
    let rp = cut(rp_name, 30);
    let what = cut(what, 80);
    format!(
        "{rp} security notice: {what} ({when}). If it wasn't you, sign in to {rp} now and \
         review your account.",
        what = what.trim_end_matches('.'),
        when = cut(when_rfc3339, 30),
    )
}

/// An email telling the account holder about a security-relevant change, e.g.
/// `what = "A passkey was added to your account"`: `(subject, text, html)`.
///
/// `when_rfc3339` is shown as given; `ip` and `device` (e.g. the user agent) are shown when
/// known. All of them are escaped in the HTML and cut to one line in the text.
pub fn security_notice_email(
    what: &str,
    when_rfc3339: &str,
    ip: Option<&str>,
    device: Option<&str>,
    rp_name: &str,
) -> (String, String, String) {
    let rp = field(rp_name, 100);
    let what = field(what, 200);
    let what = what.trim_end_matches('.').to_owned();
    let when = field(when_rfc3339, 64);
    let ip = ip.map(|s| field(s, 64)).filter(|s| !s.is_empty());
    let device = device.map(|s| field(s, 200)).filter(|s| !s.is_empty());

    let subject = format!("{rp} security notice: {what}");

    let mut details = vec![("When", when)];
    if let Some(ip) = ip {
        details.push(("IP address", ip));
    }
    if let Some(device) = device {
        details.push(("Device", device));
    }

    let if_you = "If this was you, there is nothing to do.";
    let if_not = format!(
        "If it wasn't you, sign in to {rp} now, review your passkeys, sign-in methods and \
         sessions, remove anything you don't recognise, and end the other sessions."
    );

    let mut text = format!("{what}.\n\n");
    for (label, value) in &details {
        let _ = writeln!(text, "{label}: {value}");
    }
    let _ = write!(
        text,
        "\n{if_you}\n{if_not}\n\nThis is an automatic security notice from {rp}.\n"
    );

    let h = html_escape;
    let mut body = format!(
        "<p style=\"font-size:18px;font-weight:bold\">{}.</p>\n<table role=\"presentation\" \
         style=\"border-collapse:collapse;margin:8px 0 16px\">\n",
        h(&what)
    );
    for (label, value) in &details {
        let _ = writeln!(
            body,
            "<tr><td style=\"padding:2px 12px 2px 0;color:#666666\">{}</td>\
             <td style=\"padding:2px 0\">{}</td></tr>",
            h(label),
            h(value)
        );
    }
    let _ = write!(
        body,
        "</table>\n<p>{}</p>\n<p>{}</p>\n\
         <p style=\"color:#666666;font-size:14px\">This is an automatic security notice from {}.</p>\n",
        h(if_you),
        h(&if_not),
        h(&rp)
    );
    let html = html_document(&h(&subject), &body);
    (subject, text, html)
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
