//! Log-in with a passkey, log-out and the session check (contract "Log-in").

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::PublicKeyCredential;

use super::{AccountBody, CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    auth::{self, CurrentSession},
    clock::rfc3339,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ClientInfo},
    service::{accounts, methods_list, passkeys},
    state::AppState,
    store,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/passkey/start", post(passkey_start))
        .route("/login/passkey/finish", post(passkey_finish))
        .route("/logout", post(logout))
        .route("/session", get(session))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyStart {
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyFinish {
    pub ceremony: String,
    pub credential: serde_json::Value,
}

/// `GET /api/v1/session`.
#[derive(Debug, Serialize)]
pub struct SessionBody {
    pub account_id: Uuid,
    pub username: String,
    pub session_id: Uuid,
    pub authenticated_at: String,
    pub expires_at: String,
    pub methods: Vec<String>,
}

async fn passkey_start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasskeyStart>,
) -> ApiResult<Json<CeremonyOptions>> {
    let username = body.username.as_deref().filter(|u| !u.trim().is_empty());
    let started = passkeys::login_start(&state, username, state.now()).await?;
    Ok(Json(CeremonyOptions {
        ceremony: started.ceremony,
        options: started.options,
    }))
}

async fn passkey_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    ApiJson(body): ApiJson<PasskeyFinish>,
) -> ApiResult<(HeaderMap, Json<AccountBody>)> {
    let credential: PublicKeyCredential = parse_credential(body.credential)?;
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let (account, issued) = passkeys::login_finish(
        &state,
        ceremony,
        &credential,
        &client,
        current.as_ref(),
        state.now(),
    )
    .await?;
    let mut headers = HeaderMap::new();
    auth::with_cookie(&mut headers, auth::set_cookie(&state, issued.token));
    let account = accounts::view(&state.db, &account).await?;
    Ok((headers, Json(AccountBody { account })))
}

async fn logout(
    State(state): State<AppState>,
    current: Option<CurrentSession>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    if let Some(CurrentSession(auth)) = current {
        store::sessions::delete(&state.db, auth.account.id, auth.session.id).await?;
    }
    let mut headers = HeaderMap::new();
    auth::with_cookie(&mut headers, auth::clear_cookie(&state));
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The cheap check apps and reverse proxies make on every request: one indexed read.
async fn session(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<(HeaderMap, Json<SessionBody>)> {
    let mut headers = HeaderMap::new();
    let user = HeaderValue::from_str(&auth.account.username)
        .map_err(|_| ApiError::Internal("username header".into()))?;
    headers.insert("x-sesame-user", user);
    if let Ok(id) = HeaderValue::from_str(&auth.account.id.to_string()) {
        headers.insert("x-sesame-account-id", id);
    }
    let _ = &state;
    Ok((
        headers,
        Json(SessionBody {
            account_id: auth.account.id,
            username: auth.account.username,
            session_id: auth.session.id,
            authenticated_at: rfc3339(auth.session.authenticated_at),
            expires_at: rfc3339(auth.session.expires_at),
            methods: methods_list(&auth.session.methods),
        }),
    ))
}
