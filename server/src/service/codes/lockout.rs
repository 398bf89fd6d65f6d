//! The lock-out: after `FREE_FAILURES` consecutive failures every further try waits
//! 2^(n−5) s (capped at an hour); at `HARD_LOCK` failures code log-in stops until a passkey
//! log-in or an administrator clears it (NIST SP 800-63B rev 4 §3.2.2: at most 100
//! consecutive failed attempts). A passkey log-in is never blocked.

use super::*;

pub const FREE_FAILURES: i32 = 5;
pub const HARD_LOCK: i32 = 100;

/// Does the `count`-th consecutive failure start the throttling or reach the hard lock?
pub fn starts_or_hardens(count: i32) -> bool {
    count == FREE_FAILURES || count == HARD_LOCK
}

/// 429 while the account waits.
pub fn check(account: &entity::account::Model, now: i64) -> Result<(), ApiError> {
    if account.failed_attempts >= HARD_LOCK {
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: 3600,
        });
    }
    match account.locked_until {
        Some(until) if until > now => Err(too_many(until - now)),
        _ => Ok(()),
    }
}

/// Count a failure; returns the new consecutive count.
pub async fn record_failure<C: Exec>(db: &C, account_id: Uuid, now: i64) -> Result<i32, ApiError> {
    let count = store::accounts::add_failure(db, account_id, |n| {
        (n >= FREE_FAILURES).then(|| now + 1000 * (1i64 << (n - FREE_FAILURES).min(12)).min(3600))
    })
    .await?;
    Ok(count)
}
