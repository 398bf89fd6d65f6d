//! Turning TOTP (an authenticator app) on and off for an account. TOTP is on only after a
//! current code proves the app has the secret; that code's step is recorded as used, so the
//! enrolment code cannot log in (RFC 6238 §5.2).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    account_sessions::{begin_change, revoke_other_sessions},
    codes::{self, lockout},
    notify,
    sessions::Authenticated,
    totp, ways_in,
};
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};

const KIND: &str = "totp_enrol";

#[derive(Serialize, Deserialize)]
struct State {
    /// The new secret, encrypted like a stored one.
    sealed: Vec<u8>,
}

/// What the page shows: the key to type, the `otpauth://` URI and its QR code.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TotpEnrolment)]
pub struct Enrolment {
    pub ceremony: Uuid,
    /// The shared secret in base32, for typing into the app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth://` URI as an SVG QR code.
    pub qr_svg: String,
}

#[tracing::instrument(skip_all)]
pub async fn start(
    state: &AppState,
    auth: &Authenticated,
    now: i64,
) -> Result<Enrolment, ApiError> {
    let secret = totp::new_secret();
    let app = totp::for_account(&secret, &state.config.rp_name, &auth.account.username)?;
    let otpauth_uri = app
        .to_url()
        .map_err(|e| ApiError::Internal(format!("otpauth: {e:?}")))?;
    let sealed = totp::encrypt(&state.key, auth.account.id, &secret)?;
    let id = Uuid::new_v4();
    crate::service::save_ceremony(
        state,
        entity::ceremony::Model {
            id,
            account_id: Some(auth.account.id),
            session_id: Some(auth.session.id),
            ..crate::service::new_ceremony(
                KIND,
                crate::service::to_json(&State { sealed })?,
                now,
                codes::CODE_TTL_MS,
            )
        },
    )
    .await?;
    Ok(Enrolment {
        ceremony: id,
        secret: app.secret().to_base32(),
        qr_svg: totp::qr_svg(&otpauth_uri)?,
        otpauth_uri,
    })
}

#[tracing::instrument(skip_all)]
pub async fn finish(
    state: &AppState,
    auth: &Authenticated,
    ceremony: Uuid,
    code: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let row = store::ceremonies::find_live(&state.reads, ceremony, KIND, now)
        .await?
        // Bound to the session that started it, like adding a passkey.
        .filter(|c| c.account_id == Some(auth.account.id) && c.session_id == Some(auth.session.id))
        .ok_or(ApiError::InvalidCeremony)?;
    // Counted before the code is checked, like a log-in's try (`lockout::charge`).
    let charged = lockout::charge(state, auth.account.id, false, now).await?;
    let saved: State =
        serde_json::from_str(&row.state).map_err(|e| ApiError::Internal(e.to_string()))?;
    let secret = totp::decrypt(&state.key, auth.account.id, &saved.sealed)?;
    let app = totp::for_account(&secret, &state.config.rp_name, &auth.account.username)?;
    let step = codes::well_formed(code)
        .then(|| totp::matching_step(&app, code, now))
        .flatten();
    let Some(step) = step else {
        let failure = codes::AccountFailure {
            client: client.clone(),
            login_method: None,
            account_id: auth.account.id,
            charged: charged.clone(),
        };
        codes::record_wrong_code(state, row.id, Some(failure), now).await?;
        return Err(ApiError::InvalidCode);
    };
    let (account_id, keep, client_info) = (auth.account.id, auth.session.id, client.clone());
    let written = state
        .writer
        .write(move |conn| async move {
            // The account row before the ceremony's, the order every write takes them in
            // (a contact's removal too), so that none waits on another in a cycle.
            let txn = begin_change(&conn, account_id, keep).await?;
            store::accounts::refund_try(&txn, account_id, lockout::FREE_FAILURES).await?;
            store::ceremonies::take(&txn, ceremony, KIND, now)
                .await?
                .ok_or(ApiError::InvalidCeremony)?;
            let replaced = store::accounts::find_by_id(&txn, account_id)
                .await?
                .is_some_and(|a| a.totp_secret.is_some());
            if !store::accounts::set_totp(&txn, account_id, saved.sealed, now, step).await? {
                return Err(ApiError::Unauthenticated);
            }
            let event = serde_json::json!({"replaced": replaced});
            store::events::insert(&txn, account_id, "totp_enabled", &client_info, event, now)
                .await?;
            // A new secret replacing the old one is a change of a way in, like a new password:
            // whoever logged in with the old one is logged out (OWASP ASVS 5.0 V7.4.3). The
            // old secret stops working at once: a log-in still in flight with its code is
            // refused by `advance_totp_step`, which checks the secret it was checked against.
            if replaced {
                revoke_other_sessions(&txn, account_id, keep, "totp_replaced", &client_info, now)
                    .await?;
            }
            txn.commit().await?;
            Ok(replaced)
        })
        .await;
    let replaced = lockout::settle(state, account_id, &charged, written).await?;
    crate::telemetry::metrics::ceremony_finished(KIND);
    let notice = if replaced {
        "The authenticator app for two-factor authentication was changed"
    } else {
        "Two-factor authentication with an authenticator app was turned on"
    };
    notify::security_notice(state, auth.account.id, notice, client);
    Ok(())
}

/// Turn TOTP off, unless it is the last way in; every other session ends.
#[tracing::instrument(skip_all)]
pub async fn disable(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let removal = ways_in::Removal {
        account_id: auth.account.id,
        keep: auth.session.id,
        kind: "totp_disabled",
        client: client.clone(),
        now,
    };
    state
        .writer
        .write(move |conn| async move {
            let txn = ways_in::begin_removal(&conn, &removal).await?;
            if !store::accounts::clear_totp(&txn, removal.account_id).await? {
                return Err(ApiError::NotFound);
            }
            ways_in::finish_removal(txn, &removal, serde_json::json!({})).await
        })
        .await?;
    notify::security_notice(
        state,
        auth.account.id,
        "Two-factor authentication with an authenticator app was turned off",
        client,
    );
    Ok(())
}
