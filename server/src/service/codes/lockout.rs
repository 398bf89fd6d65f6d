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

/// The wait that the `count`-th consecutive failure starts: none for the first
/// `FREE_FAILURES − 1`, then 2^(count−5) s, at most an hour.
fn back_off(count: i32, now: i64) -> Option<i64> {
    (count >= FREE_FAILURES)
        .then(|| now + 1000 * (1i64 << (count - FREE_FAILURES).min(12)).min(3600))
}

/// Charge one try to the account before its code is checked, in a write transaction of its
/// own: 429 while the account waits, else the account's count with this try. Charging first
/// means tries sent at once are counted one after another, so a burst of guesses gets no more
/// tries past the lock-out than guesses sent one by one (OWASP ASVS 5.0 V6.3.1, NIST SP 800-63B
/// rev 4 §3.2.2). A log-in whose code is right clears the count in its session transaction;
/// another right code gives its try back ([`store::accounts::refund_try`]).
pub async fn charge(state: &AppState, account_id: Uuid, now: i64) -> Result<i32, ApiError> {
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            let charged =
                store::accounts::charge_try(&txn, account_id, now, HARD_LOCK, |n| back_off(n, now))
                    .await?;
            let result = match charged {
                Some(count) => Ok(count),
                // Waiting or hard-locked; an account deleted meanwhile fails like a wrong code.
                None => Err(match store::accounts::find_by_id(&txn, account_id).await? {
                    Some(account) => check(&account, now).err().unwrap_or(too_many(1000)),
                    None => ApiError::InvalidCode,
                }),
            };
            txn.commit().await?;
            result
        })
        .await
}

/// Give back a try that [`charge`] counted whose code was right but whose write did not go
/// through: another request had finished the ceremony first (the same code sent twice at
/// once), or the database failed. Neither was a guess. Best effort: when the database is down
/// too, the try stays counted until the next successful log-in clears it.
async fn give_back(state: &AppState, account_id: Uuid) {
    let refunded = state
        .writer
        .write(move |conn| async move {
            Ok(store::accounts::refund_try(&conn, account_id, FREE_FAILURES).await?)
        })
        .await;
    if refunded.is_err() {
        tracing::debug!("a charged try could not be given back");
    }
}

/// The outcome of the write that uses a right code, after its try was charged: on any error
/// the try is given back ([`give_back`]); then the write's result.
pub async fn settle<T>(
    state: &AppState,
    account_id: Uuid,
    written: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if written.is_err() {
        give_back(state, account_id).await;
    }
    written
}
