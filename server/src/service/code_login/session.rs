//! A code log-in's session transaction, once its code is proven: the lock-out count cleared,
//! the ceremony and the single-use proof taken, the session issued, all or nothing.

use uuid::Uuid;

use super::{LOGIN, proof::Consume};
use crate::{
    error::ApiError,
    extract::ClientInfo,
    service::{
        Method,
        sessions::{self, Authenticated, Issued},
    },
    state::AppState,
    store,
};

/// What the session transaction of a code log-in needs once the code is proven.
pub(super) struct Proven {
    pub ceremony: Uuid,
    pub account: entity::account::Model,
    pub consume: Consume,
    pub methods: Vec<Method>,
    pub now: i64,
}

/// The session transaction: clear the lock-out count, take the ceremony and the single-use
/// proof, issue the session. `None` when the TOTP step or recovery code was used meanwhile, or
/// the account's password or its disabling changed since the proof was checked.
pub(super) async fn issue_session(
    state: &AppState,
    proven: Proven,
    client: &ClientInfo,
    current: Option<&Authenticated>,
) -> Result<Option<Issued>, ApiError> {
    state
        .writer
        .write({
            let (state, client) = (state.clone(), client.clone());
            let Proven {
                ceremony,
                account,
                consume,
                methods,
                now,
            } = proven;
            let current = current.cloned();
            move |db| async move {
                let txn = db.begin().await?;
                // The account row first, before the ceremony's, the order of a contact's
                // removal too: neither then waits on the other in a cycle (on PostgreSQL a
                // deadlock, 40P01, aborts one of them). Locked, it must still be the account
                // the proof was checked against: a password set, changed or removed, or the
                // account disabled, since it was read refuses the log-in; otherwise a session
                // issued just after the change committed would outlive the change's ending of
                // every other session (OWASP ASVS 5.0 V7.4.3).
                let unchanged = store::accounts::lock(&txn, account.id)
                    .await?
                    .is_some_and(|now| !now.disabled && now.password_hash == account.password_hash);
                if !unchanged {
                    txn.rollback().await?;
                    return Ok(None);
                }
                // This try was charged: clear the count (all tries before it, and any charged
                // since).
                store::accounts::clear_failures(&txn, account.id).await?;
                store::ceremonies::take(&txn, ceremony, LOGIN, now)
                    .await?
                    .ok_or(ApiError::InvalidCeremony)?;
                let consumed = match consume {
                    Consume::Nothing => true,
                    // With the secret the code was checked against (`proof::check_code`).
                    Consume::TotpStep(step) => match account.totp_secret.clone() {
                        Some(secret) => {
                            store::accounts::advance_totp_step(&txn, account.id, step, secret)
                                .await?
                        }
                        None => false,
                    },
                    Consume::RecoveryCode(id) => {
                        store::recovery_codes::consume(&txn, id, now).await?
                    }
                };
                if !consumed {
                    txn.rollback().await?;
                    return Ok(None);
                }
                if let Consume::RecoveryCode(id) = consume {
                    store::events::insert(
                        &txn,
                        account.id,
                        "recovery_code_used",
                        &client,
                        serde_json::json!({"recovery_code_id": id}),
                        now,
                    )
                    .await?;
                }
                let issued = sessions::complete_login(
                    &txn,
                    &state.config,
                    &account,
                    &methods,
                    &client,
                    current.as_ref(),
                    now,
                )
                .await?;
                txn.commit().await?;
                Ok(Some(issued))
            }
        })
        .await
}
