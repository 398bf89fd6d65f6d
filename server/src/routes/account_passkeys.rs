//! The account's passkeys (contract "Account": `/account/passkeys…`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, patch, post},
};
use serde::Deserialize;
use uuid::Uuid;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    auth::{CurrentSession, RecentSession},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ClientInfo},
    service::account_passkeys::{self, PasskeyView, SignalView},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/passkeys", get(list))
        .route("/account/passkeys/start", post(add_start))
        .route("/account/passkeys/finish", post(add_finish))
        .route("/account/passkeys/signal", get(signal))
        .route("/account/passkeys/{id}", patch(rename).delete(remove))
}

/// `{}`: nothing to choose; unknown fields are refused like everywhere else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddStart {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddFinish {
    pub ceremony: String,
    pub credential: serde_json::Value,
    #[serde(default)]
    pub label: Option<String>,
}

/// Only the label can change; `backup_state` and friends are the authenticator's to say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub label: String,
}

/// A passkey id from the path: anything that is not a UUID names no passkey.
fn passkey_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound)
}

async fn list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    Ok(Json(account_passkeys::list(&state, &auth).await?))
}

async fn add_start(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    ApiJson(AddStart {}): ApiJson<AddStart>,
) -> ApiResult<Json<CeremonyOptions>> {
    let started = account_passkeys::add_start(&state, &auth, state.now()).await?;
    Ok(Json(CeremonyOptions {
        ceremony: started.ceremony,
        options: started.options,
    }))
}

async fn add_finish(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<AddFinish>,
) -> ApiResult<(StatusCode, Json<PasskeyView>)> {
    let credential: RegisterPublicKeyCredential = parse_credential(body.credential)?;
    let ceremony = ceremony_id(&body.ceremony)?;
    let passkey = account_passkeys::add_finish(
        &state,
        &auth,
        ceremony,
        &credential,
        body.label.as_deref(),
        &client,
        state.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(passkey)))
}

async fn signal(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<SignalView>> {
    Ok(Json(account_passkeys::signal(&state, &auth).await?))
}

async fn rename(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rename>,
) -> ApiResult<Json<PasskeyView>> {
    let id = passkey_id(&id)?;
    let passkey =
        account_passkeys::rename(&state, &auth, id, &body.label, &client, state.now()).await?;
    Ok(Json(passkey))
}

async fn remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = passkey_id(&id)?;
    account_passkeys::remove(&state, &auth, id, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
