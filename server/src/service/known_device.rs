//! Known devices: a browser that signed in to an account carries a cookie that proves it
//! (OWASP Authentication Cheat Sheet, "device cookies"). A code log-in's start from it counts
//! against the limit that the account's known devices share instead of the one that everyone
//! asking for the username shares, so someone who uses up an account's code sends does not
//! keep its owner out on a browser the owner signed in on before (SECURITY.md, known
//! limitations). Every code still counts against one of the two limits, so an inbox or phone
//! gets at most twice the limit of one (and an address that several accounts share no more:
//! `code_login::LOGIN_CODES_PER_ADDRESS`). A code log-in's finish from it is charged past the
//! account's back-off, within tries an hour that the account's known devices share
//! (`codes::lockout::charge`).
//!
//! The value is `base64url(issued at, ms ‖ 16 random bytes ‖ HMAC-SHA-256)`, the MAC over the
//! account id and the account's device generation too, keyed with a key derived from the
//! server key: it does not say which account it is for (it is checked against the account a
//! start names), it signs nothing in, and it is valid a year from the log-in that set it, or
//! until the account's devices are forgotten. Whenever Sesame ends the account's other
//! sessions ("sign out everywhere else", a way in removed or replaced:
//! `service::account_sessions::revoke_other_sessions`; the administrator's disable and
//! recovery link) it raises the generation (`store::devices::forget`, in the change's
//! transaction): every cookie issued before no longer counts (OWASP: a device cookie must be
//! revocable). A log-in reads the generation in its session's transaction, after the account's
//! lock, so a log-in and a forget are ordered: one that committed first was forgotten with its
//! session. The browser that made the change gets a new cookie (`auth::still_known`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::{crypto::ServerKey, state::AppState};

pub const COOKIE: &str = "sesame_device";
/// With `Secure` (https origins): the prefix makes browsers refuse it without `Secure`.
pub const SECURE_COOKIE: &str = "__Secure-sesame_device";
/// Where the browser sends it: the code log-in calls only.
pub const COOKIE_PATH: &str = "/api/v1/login/code";
/// How long a device stays known after the log-in that set its cookie.
pub const LIFETIME_MS: i64 = 365 * 24 * 3_600_000;
/// A cookie issued by an instance whose clock is this far ahead still counts.
const CLOCK_SKEW_MS: i64 = 5 * 60_000;

const PURPOSE: &str = "known-device";
const SIGNED_LEN: usize = 8 + 16;
const TOKEN_LEN: usize = SIGNED_LEN + 32;

/// The cookie's name for this server's origin.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// A cookie value proving that this browser signed in to `account_id` at `now`, while its
/// known devices were of `generation`.
pub fn issue(key: &ServerKey, account_id: Uuid, generation: i32, now: i64) -> String {
    let mut token = Vec::with_capacity(TOKEN_LEN);
    token.extend_from_slice(&now.to_be_bytes());
    token.extend_from_slice(&crate::crypto::random_bytes::<16>());
    let mac = key.mac(PURPOSE, &signed(account_id, generation, &token));
    token.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(token)
}

/// Whether `value` is a cookie this server issued for `account_id` under its current
/// `generation`, less than a year ago; false for anything else (malformed, tampered, another
/// account's, another server key's, expired, forgotten).
pub fn proves(key: &ServerKey, value: &str, account_id: Uuid, generation: i32, now: i64) -> bool {
    // Checked before decoding: a long value costs nothing.
    if value.len() > TOKEN_LEN.div_ceil(3) * 4 {
        return false;
    }
    let Ok(token) = URL_SAFE_NO_PAD.decode(value) else {
        return false;
    };
    let Some((data, mac)) = token.split_at_checked(SIGNED_LEN) else {
        return false;
    };
    let Ok(issued_at) = <[u8; 8]>::try_from(&data[..8]).map(i64::from_be_bytes) else {
        return false;
    };
    mac.len() == 32
        && issued_at <= now.saturating_add(CLOCK_SKEW_MS)
        && now.saturating_sub(issued_at) < LIFETIME_MS
        && key.verify_mac(PURPOSE, &signed(account_id, generation, data), mac)
}

/// What the MAC covers: the account id, the generation unless it is 0, and the cookie's data.
/// Generation 0 adds nothing, so the cookies of an account whose devices were never forgotten
/// are those issued before the generation existed: an upgrade keeps them, and an instance
/// still on the older version accepts the new ones during a rolling upgrade. The parts have
/// fixed lengths (16, 4, 24 bytes), so the two forms cannot be taken for each other.
fn signed(account_id: Uuid, generation: i32, data: &[u8]) -> Vec<u8> {
    let mut signed = account_id.as_bytes().to_vec();
    if generation != 0 {
        signed.extend_from_slice(&generation.to_be_bytes());
    }
    signed.extend_from_slice(data);
    signed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_cookie_proves_its_account_for_a_year() {
        let key = ServerKey::random();
        let account = Uuid::new_v4();
        let value = issue(&key, account, 0, NOW);
        assert!(proves(&key, &value, account, 0, NOW));
        assert!(
            !proves(&key, &value, Uuid::new_v4(), 0, NOW),
            "another account"
        );
        assert!(
            !proves(&key, &value, account, 1, NOW),
            "its devices forgotten since"
        );
        let after = issue(&key, account, 1, NOW);
        assert!(proves(&key, &after, account, 1, NOW));
        assert!(
            !proves(&key, &after, account, 0, NOW),
            "not the generation before"
        );
        assert_ne!(issue(&key, account, 0, NOW), value, "each one is new");
        assert!(proves(&key, &value, account, 0, NOW + LIFETIME_MS - 1));
        assert!(
            !proves(&key, &value, account, 0, NOW + LIFETIME_MS),
            "expired"
        );
        assert!(
            proves(&key, &value, account, 0, NOW - CLOCK_SKEW_MS),
            "from an instance whose clock is a little ahead"
        );
        assert!(!proves(&key, &value, account, 0, NOW - CLOCK_SKEW_MS - 1));
    }

    /// Generation 0 signs what the cookies issued before the generation existed signed (the
    /// account id and the data), so those stay valid across the upgrade.
    #[test]
    fn generation_zero_is_the_cookie_from_before_generations() {
        let key = ServerKey::random();
        let account = Uuid::new_v4();
        let bytes = URL_SAFE_NO_PAD
            .decode(issue(&key, account, 0, NOW))
            .unwrap();
        let (data, mac) = bytes.split_at(SIGNED_LEN);
        let before = [account.as_bytes().as_slice(), data].concat();
        assert!(key.verify_mac(PURPOSE, &before, mac));
    }

    #[test]
    fn anything_the_server_did_not_sign_proves_nothing() {
        let key = ServerKey::random();
        let account = Uuid::new_v4();
        let value = issue(&key, account, 0, NOW);
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for i in [0, 7, 8, SIGNED_LEN - 1, SIGNED_LEN, TOKEN_LEN - 1] {
            bytes[i] ^= 1;
            let tampered = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(!proves(&key, &tampered, account, 0, NOW), "{i}");
            bytes[i] ^= 1;
        }
        assert!(
            !proves(&ServerKey::random(), &value, account, 0, NOW),
            "another server's key"
        );
        let long = "A".repeat(10_000);
        for junk in ["", "x", "!!!!", &value[1..], &format!("{value}A"), &long] {
            assert!(!proves(&key, junk, account, 0, NOW), "{junk}");
        }
    }
}
