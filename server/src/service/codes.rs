//! One-time codes sent by email or SMS, their resend limits, and the per-account lock-out.
//!
//! Codes: 6 digits from the OS CSPRNG, stored only as an HMAC keyed with the server key and
//! bound to their ceremony, valid 10 minutes, usable once, at most 5 wrong tries per code
//! (NIST SP 800-63B rev 4 §3.1.3 out-of-band authenticators; contract "Conventions").

use std::net::IpAddr;

use sea_orm::{DbBackend, DbErr, Statement};
use sesame_delivery::{CodePurpose, OutgoingEmail};
use uuid::Uuid;

use crate::{crypto, db::Exec, error::ApiError, state::AppState, store};

pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
pub const CODE_DIGITS: u32 = 6;
/// The fifth wrong code ends the ceremony.
pub const MAX_WRONG_PER_CODE: i32 = 5;
/// Resend limits per destination: one a 30 s, five an hour.
const RESEND_GAP_MS: i64 = 30_000;
const SENDS_PER_HOUR: usize = 5;

/// Where a code goes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
    pub fn method(self) -> super::Method {
        match self {
            Self::Email => super::Method::Email,
            Self::Sms => super::Method::Sms,
        }
    }
}

/// A fresh code and its keyed hash, bound to the ceremony id.
pub fn new_code(state: &AppState, ceremony: Uuid) -> (String, Vec<u8>) {
    let code = crypto::random_digits(CODE_DIGITS);
    let hash = code_hash(state, ceremony, &code);
    (code, hash)
}

fn code_hash(state: &AppState, ceremony: Uuid, code: &str) -> Vec<u8> {
    let mut data = ceremony.as_bytes().to_vec();
    data.extend_from_slice(code.as_bytes());
    state.key.mac("one-time-code", &data).to_vec()
}

/// Exactly six ASCII digits (no spaces, no other scripts' digits).
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())
}

/// Constant-time check of a code against the ceremony's stored hash.
pub fn matches(state: &AppState, ceremony: &entity::ceremony::Model, code: &str) -> bool {
    let Some(expected) = &ceremony.code_hash else {
        return false;
    };
    if !well_formed(code) {
        return false;
    }
    let mut data = ceremony.id.as_bytes().to_vec();
    data.extend_from_slice(code.as_bytes());
    state.key.verify_mac("one-time-code", &data, expected)
}

/// A limit on the codes sent for one target (an address, a username, an account, a client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimit {
    /// The least time between two sends.
    pub gap_ms: i64,
    /// The most sends in the last hour.
    pub per_hour: usize,
}

/// An address's, a username's or an account's limit: 30 s apart, five an hour.
pub const PER_TARGET: SendLimit = SendLimit {
    gap_ms: RESEND_GAP_MS,
    per_hour: SENDS_PER_HOUR,
};

/// The limit of one client address on the codes sent to addresses being proven (sign-ups and
/// new contacts), whatever the addresses: `SESAME_CLIENT_CODES_PER_HOUR`, IPv6 per /64. Without
/// it anyone could have a text sent to number after number, a fresh username or a fresh
/// passkey account each time, at the per-IP request rate (SMS pumping, a bill; OWASP ASVS 5.0
/// V2.4.1 anti-automation for costly functions). `None` with `SESAME_IP_RATE_LIMIT=off`, or
/// when the client's address is not known.
pub fn client_limit(state: &AppState, client_ip: Option<IpAddr>) -> Option<(String, SendLimit)> {
    let ip = client_ip.filter(|_| state.config.ip_rate_limit == "on")?;
    let client = crate::middleware::rate_limit::bucket(ip);
    let limit = SendLimit {
        gap_ms: 0,
        per_hour: state.config.client_codes_per_hour as usize,
    };
    Some((format!("codes-from:{client}"), limit))
}

/// Refuse a send to `target` within 30 s of the last one, or past five an hour; 429 with
/// `Retry-After`. Records the send when allowed.
pub async fn allow_send(state: &AppState, target: &str, now: i64) -> Result<(), ApiError> {
    allow_sends_within(state, vec![(target.to_owned(), PER_TARGET)], now).await
}

/// [`allow_send`] for a send that counts against several limits at once, each target with a
/// limit of its own (e.g. the address, the account asking and the client): refused when any
/// of them refuses, and then recorded against none.
///
/// The check and the record are one write transaction, so concurrent requests for one target
/// cannot all pass the check before any has recorded its send (each would send a code: a way
/// to flood an inbox, or an SMS bill). SQLite: `BEGIN IMMEDIATE` already runs the writes one
/// after the other. PostgreSQL: a transaction-scoped advisory lock on each target's hash, taken
/// in sorted order, makes the sends to one target wait for each other (a collision of two
/// targets' hashes only makes them wait too).
pub async fn allow_sends_within(
    state: &AppState,
    mut targets: Vec<(String, SendLimit)>,
    now: i64,
) -> Result<(), ApiError> {
    // Sorted, so that the advisory locks are always taken in one order.
    targets.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    targets.dedup_by(|a, b| a.0 == b.0);
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            for (target, limit) in &targets {
                let sent = sent_in_the_hour(&txn, target, now).await?;
                if let Some(last) = sent.last()
                    && now - last < limit.gap_ms
                {
                    return Err(too_many(last + limit.gap_ms - now));
                }
                // The oldest send of the hour that must leave it before there is room again.
                if sent.len() >= limit.per_hour
                    && let Some(oldest) = sent.get(sent.len() - limit.per_hour)
                {
                    return Err(too_many(oldest + 3_600_000 - now));
                }
            }
            for (target, _) in &targets {
                store::code_sends::record(&txn, target, now).await?;
            }
            txn.commit().await?;
            Ok(())
        })
        .await
}

/// Inside a write transaction: the times of the codes sent to `target` in the hour before
/// `now`, oldest first. On PostgreSQL a transaction-scoped advisory lock on the target's hash
/// is taken first, so that transactions checking and recording sends to one target run one
/// after the other (SQLite's `BEGIN IMMEDIATE` already does).
async fn sent_in_the_hour<C: Exec>(txn: &C, target: &str, now: i64) -> Result<Vec<i64>, DbErr> {
    sent_since(txn, target, now - 3_600_000).await
}

/// [`sent_in_the_hour`] from any time `since` (at most [`CODE_SENDS_KEPT_MS`] ago).
async fn sent_since<C: Exec>(txn: &C, target: &str, since: i64) -> Result<Vec<i64>, DbErr> {
    if txn.backend() == DbBackend::Postgres {
        let lock = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [target.into()],
        );
        txn.exec_statement(lock).await?;
    }
    store::code_sends::since(txn, target, since).await
}

/// A limit that is never answered (the caller sends nothing and says the same), over an hour
/// and over a day.
#[derive(Clone, Copy, Debug)]
pub struct QuietLimit {
    pub per_hour: usize,
    pub per_day: usize,
}

/// Inside a write transaction: whether every one of `targets` has room for one more send
/// under `limit`; when all have, the send is recorded against each (none is taken when one
/// refuses). The targets are locked in sorted order (PostgreSQL), as in [`allow_sends_within`].
pub async fn take_quiet_sends<C: Exec>(
    txn: &C,
    mut targets: Vec<String>,
    limit: QuietLimit,
    now: i64,
) -> Result<bool, DbErr> {
    targets.sort_unstable();
    targets.dedup();
    for target in &targets {
        let sent = sent_since(txn, target, now - CODE_SENDS_KEPT_MS).await?;
        let in_the_hour = sent.iter().filter(|&&at| at > now - 3_600_000).count();
        if sent.len() >= limit.per_day || in_the_hour >= limit.per_hour {
            return Ok(false);
        }
    }
    for target in &targets {
        store::code_sends::record(txn, target, now).await?;
    }
    Ok(true)
}

/// Inside a write transaction: whether `target` may be sent another code under a limit of
/// `per_hour` that is never answered (no 429: the caller sends nothing and says the same);
/// the send is recorded when it may.
pub async fn take_quiet_send<C: Exec>(
    txn: &C,
    target: &str,
    per_hour: usize,
    now: i64,
) -> Result<bool, DbErr> {
    if sent_in_the_hour(txn, target, now).await?.len() >= per_hour {
        return Ok(false);
    }
    store::code_sends::record(txn, target, now).await?;
    Ok(true)
}

/// How long sent codes are kept for the resend limits (which look back an hour).
pub const CODE_SENDS_KEPT_MS: i64 = 24 * 3_600_000;

fn too_many(wait_ms: i64) -> ApiError {
    ApiError::TooManyAttempts {
        retry_after_secs: (wait_ms.max(1000) as u64).div_ceil(1000),
    }
}

/// Deliver a code; a delivery failure is 503 `unavailable` (the caller removes the ceremony;
/// a log-in's code is sent after the answer, and its failure only counted and logged).
#[tracing::instrument(skip_all, fields(channel = channel.as_str()))]
pub async fn deliver(
    state: &AppState,
    channel: Channel,
    address: &str,
    purpose: CodePurpose,
    code: &str,
) -> Result<(), ApiError> {
    let minutes = (CODE_TTL_MS / 60_000) as u32;
    let result = match channel {
        Channel::Email => {
            let parts = sesame_delivery::code_email(purpose, code, &state.config.rp_name, minutes);
            state.email.send(OutgoingEmail::new(address, parts)).await
        }
        Channel::Sms => {
            let body = sesame_delivery::code_sms_origin_bound(
                purpose,
                code,
                &state.config.rp_name,
                &state.config.rp_id,
                minutes,
            );
            state.sms.send(address, &body).await
        }
    };
    crate::telemetry::metrics::code_delivery(channel.as_str(), result.is_ok());
    result.map_err(|e| {
        tracing::warn!(error = %e, "code delivery failed");
        ApiError::Unavailable
    })
}

pub mod lockout;

mod tries;
pub use tries::{AccountFailure, record_wrong_code, try_code};

mod address;
pub use address::{PHONE_EXAMPLE, limit_key, mask, normalize_address};

#[cfg(test)]
#[path = "codes_tests.rs"]
mod tests;
