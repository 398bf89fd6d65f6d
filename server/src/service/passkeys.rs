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

use entity::{account, passkey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::*;

pub(crate) use super::{from_json, to_json};
use crate::{
    error::ApiError,
    extract::ClientInfo,
    service::{
        Method,
        sessions::{self, Issued},
    },
    state::AppState,
    store,
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

/// What a registration tells about the authenticator, read from its authenticator data
/// (WebAuthn L3 §6.1): flags BE (0x08) and BS (0x10), the sign count and the AAGUID.
#[derive(Debug, Default)]
pub struct AuthenticatorFacts {
    pub aaguid: Option<Uuid>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub sign_count: u32,
}

/// Parse the attestation object's `authData` (CBOR map, key "authData").
pub fn authenticator_facts(attestation_object: &[u8]) -> AuthenticatorFacts {
    let Ok(ciborium::Value::Map(map)) =
        ciborium::from_reader::<ciborium::Value, _>(attestation_object)
    else {
        return AuthenticatorFacts::default();
    };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (ciborium::Value::Text(k), ciborium::Value::Bytes(b)) if k == "authData" => {
            Some(b.as_slice())
        }
        _ => None,
    });
    let Some(data) = auth_data.filter(|d| d.len() >= 37) else {
        return AuthenticatorFacts::default();
    };
    let flags = data[32];
    let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
    let aaguid = (flags & 0x40 != 0)
        .then(|| data.get(37..53))
        .flatten()
        .and_then(|b| Uuid::from_slice(b).ok());
    AuthenticatorFacts {
        aaguid,
        backup_eligible: flags & 0x08 != 0,
        backup_state: flags & 0x10 != 0,
        sign_count,
    }
}

pub(crate) fn options_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serialise options: {e}")))
}

/// Creation options for a new passkey of `user_handle`: discoverable (`residentKey: required`,
/// contract "Sign-up"), user verification required, excluding `exclude`.
pub(crate) fn creation_options(
    state: &AppState,
    user_handle: Uuid,
    username: &str,
    display_name: &str,
    exclude: Vec<CredentialID>,
) -> Result<(CreationChallengeResponse, PasskeyRegistration), ApiError> {
    let exclude = (!exclude.is_empty()).then_some(exclude);
    let (mut ccr, reg) = state
        .webauthn
        .start_passkey_registration(user_handle, username, display_name, exclude)
        .map_err(|e| ApiError::Internal(format!("start registration: {e:?}")))?;
    // webauthn-rs asks for residentKey "discouraged"; the contract wants discoverable passkeys
    // so that usernameless log-in and autofill work. Verification is unaffected.
    if let Some(selection) = ccr.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    Ok((ccr, reg))
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
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(&username)
        .chars()
        .take(64)
        .collect::<String>();
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
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let row = crate::service::take_ceremony(state, ceremony, SIGNUP, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let saved: SignupState = from_json(&row.state)?;
    let passkey = verify_registration(state, credential, &saved.reg)?;
    let facts = authenticator_facts(&credential.response.attestation_object);

    let (account, issued) = state
        .writer
        .write({
            let (state, client) = (state.clone(), client.clone());
            let label = label.map(str::to_owned);
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
                    None,
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

/// WebAuthn L3 §7.1: webauthn-rs checks type, challenge, origin, RP id hash, UP and UV (the
/// registration policy is "required"), the algorithm, BS-without-BE (§6.1.3) and the
/// attestation format.
pub fn verify_registration(
    state: &AppState,
    credential: &RegisterPublicKeyCredential,
    reg: &PasskeyRegistration,
) -> Result<Passkey, ApiError> {
    state
        .webauthn
        .finish_passkey_registration(credential, reg)
        .map_err(|e| {
            tracing::debug!(error = ?e, "registration refused");
            ApiError::InvalidCredential
        })
}

/// Store a verified passkey; a credential id registered to any account already → 409
/// (WebAuthn L3 §7.1 step 26).
pub async fn insert_passkey<C: crate::db::Exec>(
    db: &C,
    account: &account::Model,
    passkey: &Passkey,
    facts: &AuthenticatorFacts,
    label: Option<&str>,
    client: &ClientInfo,
    now: i64,
) -> Result<passkey::Model, ApiError> {
    let label = label
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.chars().take(64).collect::<String>())
        .unwrap_or_else(|| {
            crate::aaguid::name(facts.aaguid)
                .unwrap_or("Passkey")
                .to_owned()
        });
    let model = store::passkeys::insert(
        db,
        passkey::Model {
            id: Uuid::new_v4(),
            account_id: account.id,
            credential_id: passkey.cred_id().to_vec(),
            data: to_json(passkey)?,
            label,
            aaguid: facts.aaguid,
            backup_eligible: facts.backup_eligible,
            backup_state: facts.backup_state,
            sign_count: i64::from(facts.sign_count),
            created_at: now,
            last_used_at: None,
        },
    )
    .await
    .map_err(|e| {
        if store::is_unique_violation(&e) {
            ApiError::CredentialExists
        } else {
            e.into()
        }
    })?;
    store::events::insert(
        db,
        account.id,
        "passkey_added",
        client,
        serde_json::json!({"passkey_id": model.id, "label": model.label}),
        now,
    )
    .await?;
    Ok(model)
}

pub use super::passkey_login::{login_finish, login_start};
