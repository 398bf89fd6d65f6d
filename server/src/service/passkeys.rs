//! Passkey sign-up and the shared registration steps (the log-in ceremonies are in
//! `passkey_login`).
//!
//! ```text
//! browser                         Sesame                               database
//!   | POST …/start {username?}      |                                      |
//!   |------------------------------>| webauthn-rs start_*  ───────────────>| INSERT ceremony (state, 5 min)
//!   |<------------------------------| {ceremony, options}                  |
//!   | navigator.credentials.*()     |                                      |
//!   | POST …/finish {ceremony, credential}                                 |
//!   |------------------------------>| 1. parse the credential (400)        |
//!   |                               | 2. DELETE ceremony … RETURNING ─────>| at most one caller wins
//!   |                               | 3. verify with webauthn-rs (401)     |
//!   |                               | 4. one transaction: rows + session ─>| COMMIT
//!   |<------------------------------| {account} + Set-Cookie               |
//! ```

mod registration;

use entity::account;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::*;

pub(crate) use super::{from_json, to_json};
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
pub(crate) use registration::creation_options;
pub use registration::{
    AuthenticatorFacts, authenticator_facts, insert_passkey, stored_form, verify_registration,
};

/// WebAuthn ceremonies live 5 minutes (contract "Conventions"; WebAuthn L3 §15.1 recommends
/// 300 s for user-verifying ceremonies).
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;

const SIGNUP: &str = "signup_passkey";

#[derive(Serialize, Deserialize)]
struct SignupState {
    reg: PasskeyRegistration,
    username: String,
    display_name: String,
    user_handle: Uuid,
}

/// A started ceremony: its id and the options for the browser.
#[derive(Debug)]
pub struct Started {
    pub ceremony: Uuid,
    pub options: serde_json::Value,
}

pub(crate) fn options_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serialise options: {e}")))
}

/// Step 1 of sign-up: check the name is free and send creation options.
#[tracing::instrument(skip_all)]
pub async fn signup_start(
    state: &AppState,
    raw_username: &str,
    display_name: Option<&str>,
    now: i64,
) -> Result<Started, ApiError> {
    let username = super::username::normalize(raw_username).map_err(ApiError::InvalidUsername)?;
    let display_name = display_name
        .and_then(|d| super::tidy_text(d, 64))
        .unwrap_or_else(|| username.clone());
    if store::accounts::find_by_username(&state.reads, &username)
        .await?
        .is_some()
    {
        return Err(ApiError::UsernameTaken);
    }
    // A random user handle, never the username (WebAuthn L3 §14.6.1: user handles must not
    // carry personally identifying information).
    let user_handle = Uuid::new_v4();
    let (ccr, reg) = creation_options(state, user_handle, &username, &display_name, Vec::new())?;
    let state_json = to_json(&SignupState {
        reg,
        username: username.clone(),
        display_name,
        user_handle,
    })?;
    let row = entity::ceremony::Model {
        username: Some(username),
        ..super::new_ceremony(SIGNUP, state_json, now, CEREMONY_TTL_MS)
    };
    let id = row.id;
    crate::service::save_ceremony(state, row).await?;
    Ok(Started {
        ceremony: id,
        options: options_json(&ccr)?,
    })
}

/// Step 2 of sign-up: consume the ceremony, verify the attestation, then create the account,
/// its passkey and a session in one transaction.
#[tracing::instrument(skip_all)]
pub async fn signup_finish(
    state: &AppState,
    ceremony: Uuid,
    credential: &RegisterPublicKeyCredential,
    label: Option<&str>,
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let row = crate::service::take_ceremony(state, ceremony, SIGNUP, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let saved: SignupState = from_json(&row.state)?;
    let passkey = verify_registration(state, credential, &saved.reg, None).await?;
    let facts = authenticator_facts(&credential.response.attestation_object);

    let (account, issued) = state
        .writer
        .write({
            let (state, client) = (state.clone(), client.clone());
            let label = label.map(str::to_owned);
            let current = current.cloned();
            move |db| async move {
                let txn = db.begin().await?;
                let account = store::accounts::new_account(
                    &saved.username,
                    &saved.display_name,
                    saved.user_handle,
                    now,
                );
                let account = super::create_account(&txn, account, "passkey", &client, now).await?;
                insert_passkey(
                    &txn,
                    &account,
                    &passkey,
                    &facts,
                    label.as_deref(),
                    &client,
                    now,
                )
                .await?;
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
                Ok((account, issued))
            }
        })
        .await?;
    crate::telemetry::metrics::signed_up("passkey");
    Ok((account, issued))
}

pub use super::passkey_login::{login_finish, login_start};
