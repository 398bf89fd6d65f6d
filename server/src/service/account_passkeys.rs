//! Managing the passkeys of a logged-in account: list, add, rename, remove, and the facts the
//! browser's Signal API needs.
//!
//! ```text
//! browser (recent session)        Sesame                                database
//!   | POST …/passkeys/start {}      | options: same user handle, the    |
//!   |------------------------------>| account's credentials excluded ──>| INSERT ceremony add_passkey
//!   |<------------------------------| {ceremony, options}                | (account, session, 5 min)
//!   | navigator.credentials.create()|                                   |
//!   | POST …/passkeys/finish        | 1. DELETE ceremony … RETURNING ──>| at most one caller wins
//!   |------------------------------>| 2. same account and session? (400)|
//!   |                               | 3. verify the attestation (401)   |
//!   |                               | 4. INSERT passkey + event ───────>| COMMIT (409 if registered,
//!   |                               |                                   | or at MAX_PASSKEYS)
//!   |<------------------------------| 201 Passkey; email notice sent    |
//! ```

use entity::passkey;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{CredentialID, PasskeyRegistration, RegisterPublicKeyCredential};

use crate::{
    clock::rfc3339,
    error::ApiError,
    extract::ClientInfo,
    service::{
        account_sessions::begin_change,
        notify,
        passkeys::{self, CEREMONY_TTL_MS, Started},
        sessions::Authenticated,
        ways_in,
    },
    state::AppState,
    store,
};

const ADD_PASSKEY: &str = "add_passkey";

/// Longest label, in characters.
pub const LABEL_MAX: usize = 64;

/// Most passkeys one account may hold. Every one of them is listed in `excludeCredentials`
/// when adding another and in `allowCredentials` when logging in by username (WebAuthn L3
/// §5.4.3, §5.5), so without a bound one session could grow those answers, and the rows
/// behind them, without end (OWASP ASVS 5.0 V2.4, anti-automation). A hundred is far beyond
/// any person's devices and security keys.
pub const MAX_PASSKEYS: u64 = 100;

/// 409 `limit_reached` when an account holding `held` passkeys may not add one more.
fn check_room(held: u64) -> Result<(), ApiError> {
    if held >= MAX_PASSKEYS {
        return Err(ApiError::LimitReached(format!(
            "an account holds at most {MAX_PASSKEYS} passkeys; remove one first"
        )));
    }
    Ok(())
}

/// Contract shape `Passkey`, plus `authenticator` (a known AAGUID's name) and `device_bound`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Passkey)]
pub struct PasskeyView {
    pub id: Uuid,
    pub label: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime, required = true)]
    pub last_used_at: Option<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    #[schema(required = true)]
    pub aaguid: Option<Uuid>,
    /// The authenticator's name, when its AAGUID is a known one.
    #[schema(required = true)]
    pub authenticator: Option<&'static str>,
    pub device_bound: bool,
}

impl From<passkey::Model> for PasskeyView {
    fn from(p: passkey::Model) -> Self {
        // The all-zero AAGUID says "not told" (WebAuthn L3 §6.5.1; browsers zero it under
        // "none" attestation).
        let aaguid = p.aaguid.filter(|a| !a.is_nil());
        Self {
            id: p.id,
            label: p.label,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
            aaguid,
            authenticator: crate::aaguid::name(aaguid),
            // WebAuthn L3 §6.1.3: a credential that is not backup eligible can never leave the
            // authenticator it was made on.
            device_bound: !p.backup_eligible,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct AddState {
    reg: PasskeyRegistration,
}

/// The account's passkeys, oldest first.
pub async fn list(state: &AppState, auth: &Authenticated) -> Result<Vec<PasskeyView>, ApiError> {
    Ok(
        store::passkeys::list_for_account(&state.reads, auth.account.id)
            .await?
            .into_iter()
            .map(PasskeyView::from)
            .collect(),
    )
}

/// Step 1 of adding a passkey: creation options for the account's own user handle, excluding
/// the passkeys it has (WebAuthn L3 §5.4 `excludeCredentials`), so an authenticator that
/// already holds one says so instead of making a second.
#[tracing::instrument(skip_all)]
pub async fn add_start(
    state: &AppState,
    auth: &Authenticated,
    now: i64,
) -> Result<Started, ApiError> {
    let account = &auth.account;
    let exclude: Vec<CredentialID> = store::passkeys::list_for_account(&state.reads, account.id)
        .await?
        .into_iter()
        .map(|p| p.credential_id)
        .collect();
    check_room(exclude.len() as u64)?;
    let (ccr, reg) = super::passkeys::creation_options(
        state,
        account.user_handle,
        &account.username,
        &account.display_name,
        exclude,
    )?;
    let row = entity::ceremony::Model {
        account_id: Some(account.id),
        session_id: Some(auth.session.id),
        ..crate::service::new_ceremony(
            ADD_PASSKEY,
            crate::service::to_json(&AddState { reg })?,
            now,
            CEREMONY_TTL_MS,
        )
    };
    let id = row.id;
    crate::service::save_ceremony(state, row).await?;
    Ok(Started {
        ceremony: id,
        options: serde_json::to_value(&ccr)
            .map_err(|e| ApiError::Internal(format!("serialise options: {e}")))?,
    })
}

/// Step 2 of adding a passkey: consume the ceremony, check that this very session started it,
/// verify the attestation, store the passkey (409 when the credential is registered anywhere
/// already), then email a notice.
#[tracing::instrument(skip_all)]
pub async fn add_finish(
    state: &AppState,
    auth: &Authenticated,
    ceremony: Uuid,
    credential: &RegisterPublicKeyCredential,
    label: Option<&str>,
    client: &ClientInfo,
    now: i64,
) -> Result<PasskeyView, ApiError> {
    let row = crate::service::take_ceremony(state, ceremony, ADD_PASSKEY, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    // The ceremony was bound to the (recent) session that started it; a ceremony id used from
    // anywhere else is simply unknown here (OWASP ASVS 5.0 V7.5: the re-authenticated session
    // is the one allowed to make the change).
    if row.account_id != Some(auth.account.id) || row.session_id != Some(auth.session.id) {
        return Err(ApiError::InvalidCeremony);
    }
    let saved: AddState = serde_json::from_str(&row.state)
        .map_err(|e| ApiError::Internal(format!("stored state unreadable: {e}")))?;
    let key =
        passkeys::verify_registration(state, credential, &saved.reg, Some(auth.account.id)).await?;
    let facts = passkeys::authenticator_facts(&credential.response.attestation_object);
    let (account, session_id, label, client_info) = (
        auth.account.clone(),
        auth.session.id,
        label.map(str::to_owned),
        client.clone(),
    );
    let model = state
        .writer
        .write(move |conn| async move {
            // Counted under the account's lock, so two adds at once cannot both pass at 99.
            let txn = begin_change(&conn, account.id, session_id).await?;
            let held = passkey::Entity::find().filter(passkey::Column::AccountId.eq(account.id));
            check_room(store::count(&txn, held).await?)?;
            let label = label.as_deref();
            let model =
                passkeys::insert_passkey(&txn, &account, &key, &facts, label, &client_info, now)
                    .await?;
            txn.commit().await?;
            Ok(model)
        })
        .await?;
    notify::security_notice(state, auth.account.id, notify::PASSKEY_ADDED, client);
    Ok(model.into())
}

/// A label as the contract takes it: 1–64 characters after trimming, no control characters
/// (nor the bidirectional-text controls that adding a passkey drops from its name).
pub fn valid_label(raw: &str) -> Result<String, ApiError> {
    let label = raw.trim();
    let length = label.chars().count();
    if length == 0 || length > LABEL_MAX {
        return Err(ApiError::InvalidRequest(format!(
            "label must be 1 to {LABEL_MAX} characters"
        )));
    }
    if label.chars().any(super::unshowable) {
        return Err(ApiError::InvalidRequest(
            "label must not contain control or text-direction characters".into(),
        ));
    }
    Ok(label.to_owned())
}

/// Rename one of the account's passkeys; another account's id is 404.
#[tracing::instrument(skip_all)]
pub async fn rename(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    raw_label: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<PasskeyView, ApiError> {
    let label = valid_label(raw_label)?;
    let (account_id, session_id, client) = (auth.account.id, auth.session.id, client.clone());
    let model = state
        .writer
        .write(move |conn| async move {
            let txn = begin_change(&conn, account_id, session_id).await?;
            let model = store::passkeys::rename(&txn, account_id, id, &label)
                .await?
                .ok_or(ApiError::NotFound)?;
            let renamed = serde_json::json!({"passkey_id": model.id, "label": model.label});
            store::events::insert(&txn, account_id, "passkey_renamed", &client, renamed, now)
                .await?;
            txn.commit().await?;
            Ok(model)
        })
        .await?;
    Ok(model.into())
}

/// Remove one of the account's passkeys, unless it is the account's last way in (409
/// `last_method`, decided in the deleting transaction, see [`ways_in`]). Every other session
/// of the account ends with it: one of them may be the person the passkey was removed from.
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let removal = ways_in::Removal {
        account_id: auth.account.id,
        keep: auth.session.id,
        kind: "passkey_removed",
        client: client.clone(),
        now,
    };
    state
        .writer
        .write(move |conn| async move {
            let txn = ways_in::begin_removal(&conn, &removal).await?;
            let removed = store::passkeys::delete_for_account(&txn, removal.account_id, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            let event = serde_json::json!({"passkey_id": removed.id, "label": removed.label});
            ways_in::finish_removal(txn, &removal, event).await
        })
        .await?;
    notify::security_notice(state, auth.account.id, notify::PASSKEY_REMOVED, client);
    Ok(())
}

mod signal;
pub use signal::{SignalView, signal};
