//! Sign-up with a one-time code sent by email or SMS: the account is made only when the code
//! proves the address, which becomes its first verified contact (contract "Sign-up").

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sesame_delivery::CodePurpose;
use uuid::Uuid;

use super::{
    code_login::{from_json, to_json},
    codes::{self, Channel},
    sessions::{self, Authenticated, Issued},
};
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};

const SIGNUP: &str = "signup_code";

#[derive(Serialize, Deserialize)]
struct SignupState {
    username: String,
    channel: Channel,
    address: String,
}

/// Sign-up step 1: send a code to the address. The account is made only when it is proven.
///
/// Limits, all of them one write transaction with the record of the send
/// (`codes::allow_sends_within`): the address's (30 s apart, five an hour, its sub-addresses
/// counted as it), and the client's (`codes::client_limit`).
#[tracing::instrument(skip_all)]
pub async fn signup_start(
    state: &AppState,
    raw_username: &str,
    (channel, raw_address): (Channel, &str),
    client_ip: Option<IpAddr>,
    now: i64,
) -> Result<Uuid, ApiError> {
    let username = super::username::normalize(raw_username).map_err(ApiError::InvalidUsername)?;
    let address = codes::normalize_address(channel, raw_address)?;
    if store::accounts::find_by_username(&state.reads, &username)
        .await?
        .is_some()
    {
        return Err(ApiError::UsernameTaken);
    }
    let mut limits = vec![(codes::limit_key(channel, &address), codes::PER_TARGET)];
    limits.extend(codes::client_limit(state, client_ip));
    codes::allow_sends_within(state, limits, now).await?;
    let id = Uuid::new_v4();
    let (code, hash) = codes::new_code(state, id);
    let state_json = to_json(&SignupState {
        username,
        channel,
        address: address.clone(),
    })?;
    let row = entity::ceremony::Model {
        id,
        code_hash: Some(hash),
        ..super::new_ceremony(SIGNUP, state_json, now, codes::CODE_TTL_MS)
    };
    crate::service::save_ceremony(state, row).await?;
    if let Err(e) = codes::deliver(state, channel, &address, CodePurpose::SignUp, &code).await {
        // Nothing that could be finished is left behind.
        crate::service::delete_ceremony(state, id).await?;
        return Err(e);
    }
    Ok(id)
}

/// Sign-up step 2: the code proves the address; the account, its verified contact and a
/// session are made in one transaction.
#[tracing::instrument(skip_all)]
pub async fn signup_finish(
    state: &AppState,
    ceremony: Uuid,
    code: &str,
    client: &ClientInfo,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(entity::account::Model, Issued), ApiError> {
    // No account to charge yet: the try is charged to the ceremony before it is checked.
    let (row, right) = codes::try_code(state, ceremony, SIGNUP, code, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    if !right {
        return Err(ApiError::InvalidCode);
    }
    let saved: SignupState = from_json(&row.state)?;
    let (config, client, current) = (state.config.clone(), client.clone(), current.cloned());
    let (channel, username, address) = (saved.channel, saved.username, saved.address);
    let (account, issued) = state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            store::ceremonies::take(&txn, ceremony, SIGNUP, now)
                .await?
                .ok_or(ApiError::InvalidCeremony)?;
            let account =
                store::accounts::new_account(&username, &username, uuid::Uuid::new_v4(), now);
            let account =
                super::create_account(&txn, account, channel.as_str(), &client, now).await?;
            super::contacts::add_verified(&txn, account.id, channel, &address, &client, now)
                .await?;
            let methods = [channel.method()];
            // A session of another account this browser carried is ended (a sign-up
            // replaces it, as a log-in does).
            let issued = sessions::complete_login(
                &txn,
                &config,
                &account,
                &methods,
                &client,
                current.as_ref(),
                now,
            )
            .await?;
            txn.commit().await?;
            Ok((account, issued))
        })
        .await?;
    crate::telemetry::metrics::ceremony_finished(SIGNUP);
    crate::telemetry::metrics::signed_up(channel.as_str());
    Ok((account, issued))
}
