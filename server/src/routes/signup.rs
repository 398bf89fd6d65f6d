//! Sign-up with a passkey (contract "Sign-up").

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde::Deserialize;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{AccountBody, CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    auth,
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::{accounts, passkeys},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup/passkey/start", post(passkey_start))
        .route("/signup/passkey/finish", post(passkey_finish))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyStart {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyFinish {
    pub ceremony: String,
    pub credential: serde_json::Value,
    #[serde(default)]
    pub label: Option<String>,
}

async fn passkey_start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasskeyStart>,
) -> ApiResult<Json<CeremonyOptions>> {
    let started = passkeys::signup_start(
        &state,
        &body.username,
        body.display_name.as_deref(),
        state.now(),
    )
    .await?;
    Ok(Json(CeremonyOptions {
        ceremony: started.ceremony,
        options: started.options,
    }))
}

async fn passkey_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasskeyFinish>,
) -> ApiResult<(StatusCode, HeaderMap, Json<AccountBody>)> {
    let credential: RegisterPublicKeyCredential = parse_credential(body.credential)?;
    let ceremony = ceremony_id(&body.ceremony)?;
    let (account, issued) = passkeys::signup_finish(
        &state,
        ceremony,
        &credential,
        body.label.as_deref(),
        &client,
        state.now(),
    )
    .await?;
    let mut headers = HeaderMap::new();
    auth::with_cookie(&mut headers, auth::set_cookie(&state, issued.token));
    let account = accounts::view(&state.db, &account).await?;
    Ok((StatusCode::CREATED, headers, Json(AccountBody { account })))
}
