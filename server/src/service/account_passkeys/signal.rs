//! The facts the browser's Signal API needs about the account's passkeys.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;

use crate::{error::ApiError, service::sessions::Authenticated, state::AppState, store};

/// What `PublicKeyCredential.signalAllAcceptedCredentials()` and
/// `signalCurrentUserDetails()` need (WebAuthn L3 §5.1.10 Signal API), so the passkey
/// provider can hide removed passkeys and show the current names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PasskeySignal)]
pub struct SignalView {
    pub rp_id: String,
    /// base64url (unpadded) of the user handle's bytes, as `user.id` was sent at registration.
    pub user_id: String,
    pub all_accepted_credential_ids: Vec<String>,
    pub name: String,
    pub display_name: String,
}

/// The facts for the browser's Signal API: every credential the account accepts now.
pub async fn signal(state: &AppState, auth: &Authenticated) -> Result<SignalView, ApiError> {
    let account = &auth.account;
    let ids = store::passkeys::list_for_account(&state.reads, account.id)
        .await?
        .into_iter()
        .map(|p| URL_SAFE_NO_PAD.encode(p.credential_id))
        .collect();
    Ok(SignalView {
        rp_id: state.config.rp_id.clone(),
        user_id: URL_SAFE_NO_PAD.encode(account.user_handle.as_bytes()),
        all_accepted_credential_ids: ids,
        name: account.username.clone(),
        display_name: account.display_name.clone(),
    })
}
