//! Passkey log-in: with a username, without one (discoverable passkeys, also what autofill
//! uses), and the stand-in answer for unknown usernames (WebAuthn L3 §7.2, §14.6.2).

use entity::account;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::{
    fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator},
    prelude::*,
};

use super::{
    Method,
    passkeys::{CEREMONY_TTL_MS, Started, from_json, options_json, to_json},
    sessions::{self, Authenticated, Issued},
};
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};

const LOGIN: &str = "login_passkey";

#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum LoginState {
    /// A named account with passkeys: only those may answer.
    Account {
        account_id: Uuid,
        auth: PasskeyAuthentication,
    },
    /// No username: any discoverable passkey of any account.
    Discoverable { auth: DiscoverableAuthentication },
    /// Unknown username (or one without passkeys): stand-in ids were sent; nothing can succeed.
    StandIn,
}

/// Step 1 of log-in. Without a username: any discoverable passkey (also what autofill uses).
/// With one: its passkeys, or — for an unknown name or one without passkeys — stand-in ids
/// derived from the name with a server key, so the answer never tells whether it exists
/// (contract "Log-in"; WebAuthn L3 §14.6.2 username enumeration).
#[tracing::instrument(skip_all)]
pub async fn login_start(
    state: &AppState,
    username: Option<&str>,
    now: i64,
) -> Result<Started, ApiError> {
    let (options, saved, account_id) = match username {
        None => {
            let (rcr, auth) = state
                .webauthn
                .start_discoverable_authentication()
                .map_err(|e| ApiError::Internal(format!("start authentication: {e:?}")))?;
            (options_json(&rcr)?, LoginState::Discoverable { auth }, None)
        }
        Some(raw) => {
            let name = super::username::normalize(raw);
            let (account, passkeys) = match &name {
                Ok(name) => {
                    store::accounts::find_by_username_with_passkeys(state.read_side(), name).await?
                }
                Err(_) => None,
            }
            .unzip();
            let passkeys = passkeys.unwrap_or_default();
            let keys: Vec<Passkey> = passkeys
                .iter()
                .filter_map(|p| serde_json::from_str(&p.data).ok())
                .map(super::passkeys::stored_form)
                .collect();
            match account.filter(|_| !keys.is_empty()) {
                Some(account) => {
                    let (mut rcr, auth) = state
                        .webauthn
                        .start_passkey_authentication(&keys)
                        .map_err(|e| ApiError::Internal(format!("start authentication: {e:?}")))?;
                    // Transports would tell real ids from stand-ins; browsers manage without.
                    for allowed in &mut rcr.public_key.allow_credentials {
                        allowed.transports = None;
                    }
                    (
                        options_json(&rcr)?,
                        LoginState::Account {
                            account_id: account.id,
                            auth,
                        },
                        Some(account.id),
                    )
                }
                // Keyed on the name the account look-up used, so that every spelling of one
                // username (case, full-width forms) gets the same ids, as a real account's
                // spellings all get its real ones.
                None => {
                    let key = name.unwrap_or_else(|_| raw.trim().to_lowercase());
                    (stand_in_options(state, &key)?, LoginState::StandIn, None)
                }
            }
        }
    };
    let row = entity::ceremony::Model {
        account_id,
        ..super::new_ceremony(LOGIN, to_json(&saved)?, now, CEREMONY_TTL_MS)
    };
    let id = row.id;
    crate::service::save_ceremony(state, row).await?;
    Ok(Started {
        ceremony: id,
        options,
    })
}

/// Request options shaped exactly like a named account's, with ids from webauthn-rs's keyed
/// fake-credential generator (stable per username, realistic lengths and counts).
fn stand_in_options(state: &AppState, username: &str) -> Result<serde_json::Value, ApiError> {
    let generator = WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(
        &state.key.derive("stand-in-credentials"),
    )
    .map_err(|e| ApiError::Internal(format!("fake credentials: {e:?}")))?;
    let ids = generator
        .generate(username.as_bytes())
        .map_err(|e| ApiError::Internal(format!("fake credentials: {e:?}")))?;
    let (mut rcr, _) = state
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| ApiError::Internal(format!("start authentication: {e:?}")))?;
    rcr.mediation = None;
    rcr.public_key.extensions = None;
    rcr.public_key.allow_credentials = ids
        .into_iter()
        .map(|id| webauthn_rs_proto::AllowCredentials {
            type_: "public-key".into(),
            id: id.to_vec(),
            transports: None,
        })
        .collect();
    options_json(&rcr)
}

/// Step 2 of log-in: verify the assertion against the ceremony, then in one transaction consume
/// the ceremony, update the stored passkey (counter, backup state, last use) and issue (or
/// refresh) the session.
///
/// The ceremony is read, not taken, before the proof is verified, and it is consumed by the
/// same transaction that issues the session: of two finishes of one ceremony (a replay, or two
/// instances at once) only the one whose `DELETE … RETURNING` removed it gets a session. A
/// refused proof consumes the ceremony as well, so each challenge is answered at most once
/// (WebAuthn L3 §13.4.3, challenges used once). One write per finish instead of two: a write is a
/// hand-off to the writer thread and a commit (docs/performance-history.md, item 27).
#[tracing::instrument(skip_all)]
pub async fn login_finish(
    state: &AppState,
    ceremony: Uuid,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let row = store::ceremonies::find_live_on(state.read_side(), ceremony, LOGIN, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let finished = finish(state, row, credential, client, current, now).await;
    if finished.is_err() {
        // Whatever refused it, the ceremony is spent (the transaction that would have
        // consumed it was not committed). Already gone is fine.
        crate::service::take_ceremony(state, ceremony, LOGIN, now).await?;
    }
    finished
}

/// Verify, then consume the ceremony and issue the session in one transaction.
async fn finish(
    state: &AppState,
    row: entity::ceremony::Model,
    credential: &PublicKeyCredential,
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let saved: LoginState = from_json(&row.state)?;
    let refuse = |why: &str| {
        tracing::debug!(reason = why, "passkey log-in refused");
        crate::telemetry::metrics::login_failed("passkey");
        ApiError::InvalidCredential
    };
    let (account, stored, result) = match saved {
        LoginState::StandIn => return Err(refuse("stand-in ceremony")),
        LoginState::Account { account_id, auth } => {
            let result = state
                .webauthn
                .finish_passkey_authentication(credential, &auth)
                .map_err(|e| refuse(&format!("{e:?}")))?;
            let (stored, account) =
                store::passkeys::find_with_account(state.read_side(), result.cred_id())
                    .await?
                    .filter(|(p, _)| p.account_id == account_id)
                    .ok_or_else(|| refuse("passkey removed"))?;
            // WebAuthn L3 §7.2 step 6: with allowCredentials the user was identified first,
            // and a user handle, when the authenticator returns one, must be that user's.
            if credential
                .get_user_unique_id()
                .is_some_and(|handle| handle != account.user_handle.as_bytes())
            {
                return Err(refuse("user handle names another user"));
            }
            // WebAuthn L3 §7.2 (the backup-eligibility step): backup eligibility is permanent
            // for a credential (§6.1.3), so a change is refused. webauthn-rs lets a username
            // log-in upgrade it (`allow_backup_eligible_upgrade`); its discoverable log-in,
            // below, refuses it, and both of Sesame's log-ins must agree.
            if result.backup_eligible() != stored.backup_eligible {
                return Err(refuse("backup eligibility changed"));
            }
            (account, stored, result)
        }
        LoginState::Discoverable { auth } => {
            let (handle, credential_id) = state
                .webauthn
                .identify_discoverable_authentication(credential)
                .map_err(|e| refuse(&format!("{e:?}")))?;
            let (stored, account) =
                store::passkeys::find_with_account(state.read_side(), credential_id)
                    .await?
                    .ok_or_else(|| refuse("unknown credential"))?;
            // WebAuthn L3 §7.2 step 6: the credential must belong to the user the returned
            // user handle names.
            if account.user_handle != handle {
                return Err(refuse("user handle does not own the credential"));
            }
            let key: Passkey = from_json(&stored.data)?;
            let result = state
                .webauthn
                .finish_discoverable_authentication_v2(credential, auth, &key)
                .map_err(|e| refuse(&format!("{e:?}")))?;
            (account, stored, result)
        }
    };
    if account.disabled {
        return Err(refuse("account disabled"));
    }
    // Written back in the stored form: a passkey stored with its attestation sheds it.
    let mut key = super::passkeys::stored_form(from_json(&stored.data)?);
    key.update_credential(&result);
    let data = to_json(&key)?;

    let issued = state
        .writer
        .write({
            let (state, account, client) = (state.clone(), account.clone(), client.clone());
            let current = current.cloned();
            let (counter, eligible, backed_up) = (
                i64::from(result.counter()),
                result.backup_eligible(),
                result.backup_state(),
            );
            let ceremony = row.id;
            move |db| async move {
                let txn = db.begin().await?;
                // A re-authentication rotates the browser's session, a row that a change of
                // the account holds (`account_sessions::begin_change`: the account row, then
                // the session's) while it writes, e.g., this very passkey: the account row
                // first here too, so that neither waits on the other in a cycle (on
                // PostgreSQL a deadlock, 40P01). A first log-in touches no existing session.
                if current.is_some() {
                    store::accounts::lock(&txn, account.id).await?;
                }
                // Single use: only the finish that removes the ceremony goes on.
                if store::ceremonies::take(&txn, ceremony, LOGIN, now)
                    .await?
                    .is_none()
                {
                    return Err(ApiError::InvalidCeremony);
                }
                // A passkey log-in proves the person; it clears a code lock-out (NIST SP
                // 800-63B §3.2.2). The account row is written before the passkey row, the
                // order removals lock them in.
                store::accounts::clear_failures_of(&txn, &account).await?;
                // WebAuthn L3 §7.2 steps 21–22: store the new counter and backup state; the
                // conditional write also refuses a passkey that was removed meanwhile.
                let updated = store::passkeys::record_use(
                    &txn, stored.id, data, counter, eligible, backed_up, now,
                )
                .await?;
                if !updated {
                    return Ok(None);
                }
                let issued = sessions::complete_login(
                    &txn,
                    &state.config,
                    &account,
                    &[Method::Passkey],
                    &client,
                    current.as_ref(),
                    now,
                )
                .await?;
                txn.commit().await?;
                Ok(Some(issued))
            }
        })
        .await?
        .ok_or_else(|| refuse("passkey removed or counter overtaken"))?;
    // Counted once committed: a transaction rolled back above took nothing, and the refusal
    // that then consumes the ceremony counts it (`service::take_ceremony`).
    crate::telemetry::metrics::ceremony_finished(LOGIN);
    if current.is_none() {
        super::notify::login_from_new_device(state, &account, client, now);
    }
    crate::telemetry::metrics::login_succeeded("passkey");
    Ok((account, issued))
}
