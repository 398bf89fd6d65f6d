//! Known devices: a browser that signed in to an account carries a signed cookie naming that
//! account and a random device id (OWASP "Slow Down Online Guessing Attacks with Device
//! Cookies"). A code log-in's start from it counts against that device's own send limit
//! instead of the limit that everyone asking for the username shares, so someone who uses up
//! an account's code sends does not keep its owner out on a device the owner signed in on
//! before (SECURITY.md, known limitations).
//!
//! The cookie is `base64url(account id ‖ device id ‖ issued at, ms ‖ HMAC-SHA-256)`, keyed with
//! a key derived from the server key, valid a year from its last log-in. It proves only that
//! this browser signed in to the account once; it signs nothing in and is sent only to
//! `/api/v1/login/code` (`Path`), `HttpOnly`, `SameSite=Strict`, `Secure` on https origins.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::{crypto::ServerKey, state::AppState};

pub const COOKIE: &str = "sesame_device";
/// With `Secure` (https origins): the prefix makes browsers refuse it without `Secure`.
pub const SECURE_COOKIE: &str = "__Secure-sesame_device";
/// Where the browser sends it: the code log-in calls only.
pub const COOKIE_PATH: &str = "/api/v1/login/code";
/// How long a device stays known after its last log-in.
pub const LIFETIME_MS: i64 = 365 * 24 * 3_600_000;

const PURPOSE: &str = "known-device";
const DATA_LEN: usize = 16 + 16 + 8;
const TOKEN_LEN: usize = DATA_LEN + 32;

/// A browser that signed in to `account_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    pub account_id: Uuid,
    pub device_id: Uuid,
}

/// The cookie's name for this server's origin.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// A new device id for `account_id`, issued `now`, as the cookie's value.
pub fn issue(key: &ServerKey, account_id: Uuid, now: i64) -> String {
    encode(key, account_id, Uuid::new_v4(), now)
}

fn encode(key: &ServerKey, account_id: Uuid, device_id: Uuid, issued_at: i64) -> String {
    let mut token = Vec::with_capacity(TOKEN_LEN);
    token.extend_from_slice(account_id.as_bytes());
    token.extend_from_slice(device_id.as_bytes());
    token.extend_from_slice(&issued_at.to_be_bytes());
    let mac = key.mac(PURPOSE, &token);
    token.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(token)
}

/// The device a cookie value names, when the server signed it and it is less than a year old;
/// `None` for anything else (malformed, tampered, another server key, expired).
pub fn read(key: &ServerKey, value: &str, now: i64) -> Option<KnownDevice> {
    // Checked before decoding: a long value costs nothing.
    if value.len() > TOKEN_LEN.div_ceil(3) * 4 {
        return None;
    }
    let token = URL_SAFE_NO_PAD.decode(value).ok()?;
    if token.len() != TOKEN_LEN {
        return None;
    }
    let (data, mac) = token.split_at(DATA_LEN);
    if !key.verify_mac(PURPOSE, data, mac) {
        return None;
    }
    let account_id = Uuid::from_slice(&data[..16]).ok()?;
    let device_id = Uuid::from_slice(&data[16..32]).ok()?;
    let issued_at = i64::from_be_bytes(data[32..].try_into().ok()?);
    (issued_at <= now && now - issued_at < LIFETIME_MS).then_some(KnownDevice {
        account_id,
        device_id,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_its_account_and_device_for_a_year() {
        let state = ServerKey::random();
        let account = Uuid::new_v4();
        let now = 1_800_000_000_000;
        let value = issue(&state, account, now);
        let device = read(&state, &value, now).unwrap();
        assert_eq!(device.account_id, account);
        assert_ne!(
            read(&state, &issue(&state, account, now), now)
                .unwrap()
                .device_id,
            device.device_id,
            "each log-in is a device of its own"
        );
        assert_eq!(read(&state, &value, now + LIFETIME_MS - 1), Some(device));
        assert_eq!(read(&state, &value, now + LIFETIME_MS), None, "expired");
        assert_eq!(read(&state, &value, now - 1), None, "issued in the future");
    }

    #[test]
    fn anything_the_server_did_not_sign_is_no_device() {
        let state = ServerKey::random();
        let account = Uuid::new_v4();
        let now = 1_800_000_000_000;
        let value = issue(&state, account, now);
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for i in [0, 20, 35, DATA_LEN, TOKEN_LEN - 1] {
            bytes[i] ^= 1;
            assert_eq!(
                read(&state, &URL_SAFE_NO_PAD.encode(&bytes), now),
                None,
                "{i}"
            );
            bytes[i] ^= 1;
        }
        // Another account's id with this device's signature.
        let other = encode(&state, Uuid::new_v4(), Uuid::new_v4(), now);
        let mut spliced = URL_SAFE_NO_PAD.decode(&other).unwrap();
        spliced[DATA_LEN..].copy_from_slice(&bytes[DATA_LEN..]);
        assert_eq!(read(&state, &URL_SAFE_NO_PAD.encode(&spliced), now), None);
        // Another server's key.
        let elsewhere = ServerKey::random();
        assert_eq!(read(&elsewhere, &value, now), None);
        for junk in [
            "",
            "x",
            "!!!!",
            &value[1..],
            &format!("{value}A"),
            &"A".repeat(10_000),
        ] {
            assert_eq!(read(&state, junk, now), None, "{junk}");
        }
    }
}
