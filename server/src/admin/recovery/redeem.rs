//! Redeeming a link: `POST /api/v1/recover/start` and `/finish` (`routes::recover`).

use entity::account;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{CredentialID, PasskeyRegistration, RegisterPublicKeyCredential};

use super::{KIND, PASSKEY, RECOVERED, TOKEN_MAX};
use crate::{
    admin::queries,
    crypto,
    error::ApiError,
    extract::ClientInfo,
    service::{
        Method, notify,
        passkeys::{self, Started},
        sessions::{self, Authenticated, Issued},
    },
    state::AppState,
    store,
};

#[derive(Serialize, Deserialize)]
struct PasskeyState {
    reg: PasskeyRegistration,
    /// The link this registration was opened with; consumed at finish.
    link: Uuid,
}

/// Step 1 of redeeming: a live link → creation options for a new passkey of its account
/// (the same user handle as the account's other passkeys, those excluded).
#[tracing::instrument(skip_all)]
pub async fn start(state: &AppState, token: &str, now: i64) -> Result<Started, ApiError> {
    if token.is_empty() || token.len() > TOKEN_MAX {
        return Err(ApiError::InvalidCeremony);
    }
    let link = queries::ceremony_by_hash(&state.reads, KIND, crypto::token_hash(token), now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let account = match link.account_id {
        Some(id) => store::accounts::find_by_id(&state.reads, id).await?,
        None => None,
    }
    .filter(|a| !a.disabled)
    .ok_or(ApiError::InvalidCeremony)?;
    let exclude: Vec<CredentialID> = store::passkeys::list_for_account(&state.reads, account.id)
        .await?
        .into_iter()
        .map(|p| p.credential_id)
        .collect();
    let (ccr, reg) = passkeys::creation_options(
        state,
        account.user_handle,
        &account.username,
        &account.display_name,
        exclude,
    )?;
    let mut row = entity::ceremony::Model {
        account_id: Some(account.id),
        ..crate::service::new_ceremony(
            PASSKEY,
            passkeys::to_json(&PasskeyState { reg, link: link.id })?,
            now,
            passkeys::CEREMONY_TTL_MS,
        )
    };
    // Never outlive the link it was opened with.
    row.expires_at = row.expires_at.min(link.expires_at);
    let ceremony = row.id;
    crate::service::save_ceremony(state, row).await?;
    Ok(Started {
        ceremony,
        options: passkeys::options_json(&ccr)?,
    })
}

/// Step 2 of redeeming: verify the new passkey, then consume the link, store the passkey,
/// end the account's other sessions and log the person in — all in one transaction.
#[tracing::instrument(skip_all)]
pub async fn finish(
    state: &AppState,
    ceremony: Uuid,
    credential: &RegisterPublicKeyCredential,
    label: Option<&str>,
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let row = crate::service::take_ceremony(state, ceremony, PASSKEY, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let saved: PasskeyState = passkeys::from_json(&row.state)?;
    let account_id = row.account_id.ok_or(ApiError::InvalidCeremony)?;
    let key =
        passkeys::verify_registration(state, credential, &saved.reg, Some(account_id)).await?;
    let facts = passkeys::authenticator_facts(&credential.response.attestation_object);
    let label = label.map(str::to_owned);
    let (config, client_info, link) = (state.config.clone(), client.clone(), saved.link);
    let current = current.cloned();
    let (account, issued) = state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            // The account row first, then the link's, the order of every change of the
            // account (removing an email address ends this link under the account's lock):
            // neither waits on the other in a cycle.
            let account = store::accounts::lock(&txn, account_id)
                .await?
                .filter(|a| !a.disabled)
                .ok_or(ApiError::InvalidCeremony)?;
            // The single use: of concurrent finishes (on any instance) one deletes the row.
            let taken = store::ceremonies::take(&txn, link, KIND, now).await?;
            if taken.and_then(|l| l.account_id) != Some(account_id) {
                return Err(ApiError::InvalidCeremony);
            }
            let client = &client_info;
            let passkey = passkeys::insert_passkey(
                &txn,
                &account,
                &key,
                &facts,
                label.as_deref(),
                client,
                now,
            )
            .await?;
            let sessions_ended = store::sessions::delete_all(&txn, account.id).await?;
            // Every browser that signed in before is forgotten too; this one is known anew
            // (its cookie, under the generation `complete_login` reads below, is set with the
            // session's).
            store::devices::forget(&txn, account.id).await?;
            store::accounts::clear_failures(&txn, account.id).await?;
            let used = serde_json::json!({
                "link_id": link, "passkey_id": passkey.id, "sessions_ended": sessions_ended
            });
            store::events::insert(&txn, account.id, "recovery_link_used", client, used, now)
                .await?;
            let methods = [Method::Passkey];
            // A session of another account this browser carried is ended too (its own were
            // all ended above).
            let issued = sessions::complete_login(
                &txn,
                &config,
                &account,
                &methods,
                client,
                current.as_ref(),
                now,
            )
            .await?;
            txn.commit().await?;
            Ok((account, issued))
        })
        .await?;
    crate::telemetry::metrics::ceremony_finished(KIND);
    notify::security_notice(state, account.id, RECOVERED, client);
    Ok((account, issued))
}
