//! Account operations on the optional password.

use super::{check_policy, hash};
use crate::{
    error::ApiError,
    extract::ClientInfo,
    service::{account_sessions, notify, sessions::Authenticated},
    state::AppState,
    store,
};

/// Set or change the password; every other session ends.
#[tracing::instrument(skip_all)]
pub async fn set(
    state: &AppState,
    auth: &Authenticated,
    password: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let normalised = check_policy(password, &auth.account.username)?;
    let phc = hash(normalised).await?;
    change(state, auth, Some(phc), "password_set", client, now).await?;
    notify::security_notice(
        state,
        auth.account.id,
        "A password was set on your account",
        client,
    );
    Ok(())
}

/// Remove the password; every other session ends.
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    if auth.account.password_hash.is_none() {
        return Err(ApiError::NotFound);
    }
    change(state, auth, None, "password_removed", client, now).await?;
    notify::security_notice(
        state,
        auth.account.id,
        "The password was removed from your account",
        client,
    );
    Ok(())
}

async fn change(
    state: &AppState,
    auth: &Authenticated,
    phc: Option<String>,
    kind: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let (account_id, keep, kind, client) = (
        auth.account.id,
        auth.session.id,
        kind.to_owned(),
        client.clone(),
    );
    state
        .writer
        .write(move |conn| async move {
            let txn = account_sessions::begin_change(&conn, account_id, keep).await?;
            if !store::accounts::set_password_hash(&txn, account_id, phc).await? {
                return Err(ApiError::Unauthenticated);
            }
            let event = serde_json::json!({});
            store::events::insert(&txn, account_id, &kind, &client, event, now).await?;
            account_sessions::revoke_other_sessions(&txn, account_id, keep, &kind, &client, now)
                .await?;
            Ok(txn.commit().await?)
        })
        .await?;
    Ok(())
}
