//! Sign-up and log-in with one-time codes (contract "Sign-up" and "Log-in").

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AccountBody, ceremony_id};
use crate::{
    auth::{self, CurrentSession},
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::{
        accounts,
        code_login::{self, CodeMethod},
        codes::Channel,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup/code/start", post(signup_start))
        .route("/signup/code/finish", post(signup_finish))
        .route("/login/code/start", post(login_start))
        .route("/login/code/finish", post(login_finish))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupStart {
    pub username: String,
    pub channel: Channel,
    pub address: String,
}

/// No `Debug`: it holds a code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFinish {
    pub ceremony: String,
    pub code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginStart {
    pub username: String,
    pub method: CodeMethod,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFinish {
    pub ceremony: String,
    pub code: String,
    #[serde(default)]
    pub password: Option<String>,
}

/// `{"ceremony"}`.
#[derive(Debug, Serialize)]
pub struct CeremonyBody {
    pub ceremony: Uuid,
}

async fn signup_start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let ceremony = code_login::signup_start(
        &state,
        &body.username,
        body.channel,
        &body.address,
        state.now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

async fn signup_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeFinish>,
) -> ApiResult<(StatusCode, HeaderMap, Json<AccountBody>)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    let (account, issued) =
        code_login::signup_finish(&state, ceremony, &body.code, &client, state.now()).await?;
    let mut headers = HeaderMap::new();
    auth::with_cookie(&mut headers, auth::set_cookie(&state, issued.token));
    let account = accounts::view(&state.db, &account).await?;
    Ok((StatusCode::CREATED, headers, Json(AccountBody { account })))
}

async fn login_start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let ceremony =
        code_login::login_start(&state, &body.username, body.method, state.now()).await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

async fn login_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    ApiJson(body): ApiJson<LoginFinish>,
) -> ApiResult<(HeaderMap, Json<AccountBody>)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let (account, issued) = code_login::login_finish(
        &state,
        ceremony,
        &body.code,
        body.password.as_deref(),
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
