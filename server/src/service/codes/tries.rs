//! Tries at a code: counted on the ceremony (the fifth wrong code ends it) and, for an
//! account's code, recorded in the account's activity.

use uuid::Uuid;

use super::{MAX_WRONG_PER_CODE, lockout, matches};
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};

/// What a wrong code charged to an account's lock-out adds to the account's activity.
pub struct AccountFailure {
    pub client: ClientInfo,
    /// For a log-in, the method as the events name it (a `login_failed` event); `None` for a
    /// code a signed-in account confirms (the authenticator app's set-up, a new contact),
    /// whose failures count towards the lock-out all the same.
    pub login_method: Option<serde_json::Value>,
    pub account_id: Uuid,
    /// The account's consecutive failures with this one, and whether it was charged past the
    /// back-off as a known device's ([`lockout::charge`] counted it).
    pub charged: lockout::Charged,
}

/// A try at the code of a ceremony that no account's lock-out counts (sign-up), charged to the
/// ceremony before the code is checked ([`store::ceremonies::charge_attempt`]): the ceremony
/// and whether the code is right. A wrong code that used the last try ends the ceremony in the
/// same transaction. `None`: no such live ceremony, or its tries are used up. Checked after the
/// charge, so a burst of guesses sent at once is checked at most [`MAX_WRONG_PER_CODE`] times
/// (NIST SP 800-63B rev 4 §3.2.2), as the account's charge bounds a log-in's
/// ([`lockout::charge`]).
pub async fn try_code(
    state: &AppState,
    ceremony: Uuid,
    kind: &'static str,
    code: &str,
    now: i64,
) -> Result<Option<(entity::ceremony::Model, bool)>, ApiError> {
    let (state2, code) = (state.clone(), code.to_owned());
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            let Some(row) =
                store::ceremonies::charge_attempt(&txn, ceremony, kind, now, MAX_WRONG_PER_CODE)
                    .await?
            else {
                return Ok(None);
            };
            let right = matches(&state2, &row, &code);
            if !right && row.attempts >= MAX_WRONG_PER_CODE {
                store::ceremonies::delete(&txn, ceremony).await?;
            }
            txn.commit().await?;
            Ok(Some((row, right)))
        })
        .await
}

/// A wrong code, recorded in one write transaction: one more wrong try on the ceremony (the
/// fifth ends it); for a log-in, the `login_failed` event; for any try charged to an account,
/// `locked_out` when throttling starts or the hard lock is reached (and its metric). The try
/// was charged before the code was checked ([`lockout::charge`]), so each of several
/// concurrent failures has a count of its own and the lock-out is recorded exactly once (OWASP
/// ASVS 5.0 V6.3.1 / NIST SP 800-63B rev 4 §3.2.2 rate limiting).
pub async fn record_wrong_code(
    state: &AppState,
    ceremony: Uuid,
    failure: Option<AccountFailure>,
    now: i64,
) -> Result<(), ApiError> {
    let locked_out = failure
        .as_ref()
        .map(|f| f.charged.count)
        .filter(|n| lockout::starts_or_hardens(*n));
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            store::ceremonies::add_wrong_attempt(&txn, ceremony, MAX_WRONG_PER_CODE).await?;
            if let Some(AccountFailure {
                client,
                login_method,
                account_id,
                charged,
            }) = failure
            {
                if let Some(method) = login_method {
                    let mut failed = charged.detail();
                    failed["method"] = method;
                    store::events::insert(&txn, account_id, "login_failed", &client, failed, now)
                        .await?;
                }
                let count = charged.count;
                if lockout::starts_or_hardens(count) {
                    let hard = count >= lockout::HARD_LOCK;
                    let locked = serde_json::json!({"consecutive_failures": count, "hard": hard});
                    store::events::insert(&txn, account_id, "locked_out", &client, locked, now)
                        .await?;
                }
            }
            txn.commit().await?;
            Ok(())
        })
        .await?;
    if let Some(count) = locked_out {
        crate::telemetry::metrics::locked_out(count >= lockout::HARD_LOCK);
    }
    Ok(())
}
