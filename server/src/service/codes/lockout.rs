//! The lock-out: after `FREE_FAILURES` consecutive failures every further try waits
//! 2^(n−5) s (capped at an hour); at `HARD_LOCK` failures code log-in stops until a passkey
//! log-in or an administrator clears it (NIST SP 800-63B rev 4 §3.2.2: at most 100
//! consecutive failed attempts). A passkey log-in is never blocked.
//!
//! A code log-in from a known device (`service::known_device`: a browser that signed in to the
//! account before) does not wait out the back-off, so someone guessing at the account from
//! elsewhere cannot keep its owner out on the owner's own browser (OWASP Authentication Cheat
//! Sheet, "device cookies"). Its failures still count as the account's, towards the back-off
//! of everyone else and the hard lock, which stops known devices too: every log-in mints a
//! new cookie and none can be revoked, so a budget per cookie would give whoever once signed
//! in guesses without end. The account's known devices share [`KNOWN_DEVICE_TRIES`] such
//! tries an hour; past them a known device waits like any other client.

use super::*;

pub const FREE_FAILURES: i32 = 5;
pub const HARD_LOCK: i32 = 100;
/// Tries an hour that the account's known devices share past the back-off.
pub const KNOWN_DEVICE_TRIES: usize = 4;
// API.md ("Log-in rules"): throttling starts after at most 10 consecutive failures. A client
// that is a known device sees its first 429 after the free failures and these tries, so
// together they stay under 10: the 10th try at the latest is refused.
const _: () = assert!(FREE_FAILURES as usize + KNOWN_DEVICE_TRIES < 10);

/// A code log-in's try, charged to the account before its code was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charged {
    /// The account's consecutive failures with this try.
    pub count: i32,
    /// Where the try was recorded against the known devices' shared tries past the back-off,
    /// when it took one of them: given back with the account's ([`settle`]).
    pub known_device: Option<String>,
}

impl Charged {
    /// What a failed try adds to the `login_failed` event's detail: `known_device` when it
    /// was charged past the back-off as a known device's.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = serde_json::json!({"consecutive_failures": self.count});
        if self.known_device.is_some() {
            detail["known_device"] = true.into();
        }
        detail
    }
}

/// Where the tries of an account's known devices are recorded, with the sent codes' records
/// (kept a day, counted over the hour the same way).
fn known_device_tries(account_id: Uuid) -> String {
    format!("login-tries:{account_id}:known")
}

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
///
/// `known_device`: the request proves a known device of the account (`auth::is_known_device`).
/// A try the account's back-off refuses is then charged past it (not past the hard lock) while
/// the account's known devices have had fewer than [`KNOWN_DEVICE_TRIES`] such tries in the
/// hour, and recorded against those tries in the same transaction (on PostgreSQL under the
/// target's advisory lock, `codes::sent_in_the_hour`), so a burst from known devices gets no
/// more than that either. A try the back-off lets through takes none of them.
pub async fn charge(
    state: &AppState,
    account_id: Uuid,
    known_device: bool,
    now: i64,
) -> Result<Charged, ApiError> {
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            let charged =
                store::accounts::charge_try(&txn, account_id, now, HARD_LOCK, false, |n| {
                    back_off(n, now)
                })
                .await?
                .map(|count| Charged {
                    count,
                    known_device: None,
                });
            // Refused: past the wait only for a known device (a try that did not need it takes
            // none of the known devices' tries).
            let charged = match charged {
                None if known_device => charge_past_wait(&txn, account_id, now).await?,
                charged => charged,
            };
            let result = match charged {
                Some(charged) => Ok(charged),
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

/// Inside [`charge`]'s transaction: a known device's try charged past the account's back-off
/// (not past the hard lock) and recorded against the known devices' tries of the hour, while
/// they have any left; `None` otherwise.
async fn charge_past_wait<C: Exec>(
    txn: &C,
    account_id: Uuid,
    now: i64,
) -> Result<Option<Charged>, DbErr> {
    let target = known_device_tries(account_id);
    if sent_in_the_hour(txn, &target, now).await?.len() >= KNOWN_DEVICE_TRIES {
        return Ok(None);
    }
    let charged =
        store::accounts::charge_try(txn, account_id, now, HARD_LOCK, true, |n| back_off(n, now))
            .await?;
    let Some(count) = charged else {
        return Ok(None);
    };
    store::code_sends::record(txn, &target, now).await?;
    Ok(Some(Charged {
        count,
        known_device: Some(target),
    }))
}

/// Give back a try that [`charge`] counted whose code was right but whose write did not go
/// through: another request had finished the ceremony first (the same code sent twice at
/// once), or the database failed. Neither was a guess. Best effort: when the database is down
/// too, the try stays counted until the next successful log-in clears it.
async fn give_back(state: &AppState, account_id: Uuid, known_device: Option<String>) {
    let refunded = state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            store::accounts::refund_try(&txn, account_id, FREE_FAILURES).await?;
            if let Some(target) = known_device {
                store::code_sends::delete_latest(&txn, &target).await?;
            }
            txn.commit().await?;
            Ok(())
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
    charged: &Charged,
    written: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if written.is_err() {
        give_back(state, account_id, charged.known_device.clone()).await;
    }
    written
}
