//! The addresses codes go to: an email address in one spelling per mailbox or a phone number
//! in E.164 (the form stored, and the key of the send limits), and their masked form.

use super::Channel;
use crate::error::ApiError;

/// The number the messages about phone numbers show as an example: libphonenumber's own
/// example of a British mobile number, which its checks accept (Ofcom's drama range,
/// 07700 900xxx, is refused by them).
pub const PHONE_EXAMPLE: &str = "+44 7400 123456";

/// An email address in one spelling per mailbox ([`canonical_email`]) or a phone number in
/// E.164: the form stored, and (through [`limit_key`]) the key of the per-address send limits.
pub fn normalize_address(channel: Channel, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    match channel {
        Channel::Email => canonical_email(raw)
            .ok_or_else(|| ApiError::InvalidRequest("that is not a valid email address".into())),
        Channel::Sms => {
            let number = phonenumber::parse(None, raw)
                .ok()
                .filter(phonenumber::is_valid)
                .ok_or_else(|| {
                    ApiError::InvalidRequest(
                        format!("that is not a valid mobile number; use the international form, e.g. {PHONE_EXAMPLE}"),
                    )
                })?;
            Ok(number.format().mode(phonenumber::Mode::E164).to_string())
        }
    }
}

/// `raw` (trimmed) as one spelling of its mailbox, or `None` when it is not a valid address.
/// Each spelling of an address is a separate key of the send limits (5 an hour), so spellings
/// that reach one mailbox must be one:
/// - the local part only as a dot-atom (RFC 5322 §3.4.1): a quoted one names the same mailbox
///   as its unquoted form, in as many spellings as it has escapes (§3.2.4), so quotes and
///   backslashes are refused; then lower case and Unicode NFC;
/// - the domain as UTS #46 maps it (upper case, full-width letters, IDN in either form), in
///   Unicode for showing (`exämple.org`, never `xn--exmple-cua.org`); IP literals refused.
fn canonical_email(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let (local, domain) = raw.rsplit_once('@')?;
    if local.is_empty() || local.contains(['"', '\\']) || domain.starts_with('[') {
        return None;
    }
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let (unicode, mapped) = idna::domain_to_unicode(&ascii);
    mapped.ok()?;
    let local: String = local.to_lowercase().nfc().collect();
    let address = format!("{local}@{unicode}");
    (format!("{local}@{ascii}").len() <= 254 && sesame_delivery::is_valid_email(&address))
        .then_some(address)
}

/// The target an address's send limit counts under (`email:…`, `sms:…`): for email the mailbox
/// without its sub-address, `carol+1@example.net` as `carol@example.net` (RFC 5233), which
/// most providers deliver to one inbox, so tags do not multiply an inbox's limit. Gmail's own
/// spellings are folded too: it ignores dots in the local part and delivers `googlemail.com`
/// to `gmail.com` (Google Account Help, "Dots don't matter in Gmail addresses"), so
/// `c.a.r.o.l@googlemail.com` counts as `carol@gmail.com`. Only the limit's key: the code is
/// still sent to the address as given.
pub fn limit_key(channel: Channel, address: &str) -> String {
    let Some((local, domain)) = address
        .split_once('@')
        .filter(|_| channel == Channel::Email)
    else {
        return format!("{}:{address}", channel.as_str());
    };
    let user = match local.split_once('+') {
        Some((user, _)) if !user.is_empty() => user,
        _ => local,
    };
    if matches!(domain, "gmail.com" | "googlemail.com") {
        let user: String = user.chars().filter(|&c| c != '.').collect();
        if !user.is_empty() {
            return format!("email:{user}@gmail.com");
        }
    }
    format!("email:{user}@{domain}")
}

/// `a***@example.com`, `+44******0123`.
pub fn mask(channel: &str, address: &str) -> String {
    match channel {
        "email" => match address.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        },
        _ => {
            let chars: Vec<char> = address.chars().collect();
            let keep_start = 3.min(chars.len());
            let keep_end = 4.min(chars.len().saturating_sub(keep_start));
            let hidden = chars.len() - keep_start - keep_end;
            format!(
                "{}{}{}",
                chars[..keep_start].iter().collect::<String>(),
                "*".repeat(hidden),
                chars[chars.len() - keep_end..].iter().collect::<String>()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Channel, limit_key, normalize_address};

    #[test]
    fn a_sub_address_and_gmails_dots_count_as_the_mailbox() {
        for (address, key) in [
            ("carol+1@example.net", "email:carol@example.net"),
            ("carol+a+b@example.net", "email:carol@example.net"),
            ("carol@example.net", "email:carol@example.net"),
            ("+tag@example.net", "email:+tag@example.net"),
            ("c.a.r.o.l+x@gmail.com", "email:carol@gmail.com"),
            ("carol@googlemail.com", "email:carol@gmail.com"),
            ("ca.rol@example.net", "email:ca.rol@example.net"),
            ("...@gmail.com", "email:...@gmail.com"),
        ] {
            assert_eq!(limit_key(Channel::Email, address), key, "{address}");
        }
        assert_eq!(
            limit_key(Channel::Sms, "+447400123456"),
            "sms:+447400123456"
        );
    }

    fn email(raw: &str) -> Option<String> {
        normalize_address(Channel::Email, raw).ok()
    }

    #[test]
    fn every_spelling_of_one_mailbox_is_one_address() {
        for same in [
            "carol@example.net",
            " Carol@Example.NET ",
            "carol@ｅxample.net",
            "carol@eｘample.net",
        ] {
            assert_eq!(
                email(same).as_deref(),
                Some("carol@example.net"),
                "{same:?}"
            );
        }
        for same in [
            "bob@exämple.org",
            "bob@xn--exmple-cua.org",
            "BOB@EXÄMPLE.ORG",
        ] {
            assert_eq!(email(same).as_deref(), Some("bob@exämple.org"), "{same:?}");
        }
        // A decomposed é in the local part is the composed one.
        assert_eq!(email("re\u{301}my@example.com"), email("rémy@example.com"));
    }

    #[test]
    fn the_example_phone_number_is_one_the_check_accepts() {
        let number = normalize_address(Channel::Sms, super::PHONE_EXAMPLE);
        assert_eq!(number.ok().as_deref(), Some("+447400123456"));
        for page in ["signup.js", "account/contact.js"] {
            let path = format!("{}/../web/assets/{page}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(text.contains(super::PHONE_EXAMPLE), "{page}");
            assert!(!text.contains("7700 900"), "{page}");
        }
    }

    #[test]
    fn quoted_local_parts_ip_literals_and_non_addresses_are_refused() {
        for bad in [
            "\"carol\"@example.net",
            "\"c\\arol\"@example.net",
            "carol@[192.0.2.1]",
            "carol",
            "@example.net",
            "carol@",
            "carol@exa mple.net",
            &format!("{}@example.net", "a".repeat(250)),
        ] {
            assert_eq!(email(bad), None, "{bad:?}");
        }
    }
}
