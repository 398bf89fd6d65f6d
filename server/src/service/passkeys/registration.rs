//! The registration steps that sign-up, adding a passkey to an account and recovery share:
//! creation options, verifying the attestation, what the authenticator data tells, and storing
//! the verified passkey.

use entity::{account, passkey};
use uuid::Uuid;
use webauthn_rs::prelude::*;

use super::to_json;
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};

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

/// The longest credential id accepted: WebAuthn L3 §6.5.1 says credentialIdLength "MUST be
/// <= 1023" and §7.1 that longer ids SHOULD fail the registration; webauthn-rs allows 4096
/// (for key-wrapped post-quantum keys to come). Every passkey of an account is listed in its
/// `allowCredentials`, which anyone may ask for by username, so a long id is also an answer
/// that much larger for everyone.
const CREDENTIAL_ID_MAX: usize = 1023;

/// WebAuthn L3 §7.1: webauthn-rs checks type, challenge, origin, RP id hash, UP and UV (the
/// registration policy is "required"), the algorithm, BS-without-BE (§6.1.3) and the
/// attestation format; Sesame adds an id of 1 to [`CREDENTIAL_ID_MAX`] bytes.
///
/// `account`: the account a passkey is being added to, whose passkeys the options excluded
/// (§5.4.3 `excludeCredentials`). webauthn-rs refuses an excluded credential last, after every
/// other check passed, with `CredentialAlteredAlgFromRequest` (the error it also gives for an
/// algorithm not asked for). A credential so refused that this account already holds is a
/// passkey already registered: `credential_exists` (409, API.md), as the same passkey on
/// another account is (§7.1 step 26). Every other refusal is one `invalid_credential`.
pub async fn verify_registration(
    state: &AppState,
    credential: &RegisterPublicKeyCredential,
    reg: &PasskeyRegistration,
    account: Option<Uuid>,
) -> Result<Passkey, ApiError> {
    let refused = match state.webauthn.finish_passkey_registration(credential, reg) {
        Ok(passkey) if (1..=CREDENTIAL_ID_MAX).contains(&passkey.cred_id().len()) => {
            return Ok(stored_form(passkey));
        }
        Ok(_) => {
            tracing::debug!("registration refused: credential id length");
            return Err(ApiError::InvalidCredential);
        }
        Err(refused) => refused,
    };
    tracing::debug!(error = ?refused, "registration refused");
    if let (WebauthnError::CredentialAlteredAlgFromRequest, Some(account)) = (&refused, account) {
        let held = store::passkeys::find_with_account(state.read_side(), &credential.raw_id)
            .await?
            .is_some_and(|(passkey, _)| passkey.account_id == account);
        if held {
            return Err(ApiError::CredentialExists);
        }
    }
    Err(ApiError::InvalidCredential)
}

/// How many transports a stored passkey keeps: there are six kinds (WebAuthn L3 §5.8.4).
const TRANSPORTS_MAX: usize = 6;

/// A verified passkey as Sesame keeps it: without the attestation statement, and with at most
/// [`TRANSPORTS_MAX`] transports. Sesame asks for no attestation ("none", WebAuthn L3
/// §5.4.7) and never reads one, but webauthn-rs keeps whatever statement an authenticator sent
/// and verified (a `packed` one with any number of further certificates in `x5c`, §8.2), and a
/// log-in by username copies every passkey of the account into its ceremony's state: an account
/// of 100 passkeys padded up to the body limit would make each anonymous log-in start write
/// megabytes. Also applied to passkeys stored before this was done, as a log-in reads them.
pub fn stored_form(passkey: Passkey) -> Passkey {
    let mut credential = Credential::from(passkey);
    credential.attestation = ParsedAttestation::default();
    credential.attestation_format = AttestationFormat::None;
    if let Some(transports) = &mut credential.transports {
        transports.truncate(TRANSPORTS_MAX);
    }
    Passkey::from(credential)
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
        .and_then(|l| crate::service::tidy_text(l, crate::service::account_passkeys::LABEL_MAX))
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
