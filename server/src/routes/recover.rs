//! Redeeming an administrator's recovery link (`sesame account recovery USERNAME`; the rules
//! are in `admin::recovery`): the `/recover#token=…` page, and the two calls it makes to add a
//! new passkey and log in.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use super::routes;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{AccountBody, CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    admin::recovery,
    auth::{self, CurrentSession},
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::accounts,
    state::AppState,
};

/// `POST /api/v1/recover/start` and `/finish` (nested under `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(finish))
}

/// The page the link opens: `GET /recover`.
pub fn page() -> Router<AppState> {
    Router::new().route("/recover", get(recover_page))
}

/// The page, compiled in. Its address carries the token: never cached, never sent on as a
/// referrer (the security headers say `no-referrer` everywhere), and the page takes the token
/// out of the address bar at once.
async fn recover_page() -> Response {
    let html = include_str!("../../../web/recover.html");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html,
    )
        .into_response()
}

/// No `Debug`: it holds the link's token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecoverStart)]
pub struct Start {
    /// The `token` of the link `<origin>/recover#token=…`.
    pub token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecoverFinish)]
pub struct Finish {
    pub ceremony: String,
    /// What `PublicKeyCredential.toJSON()` returns for the new passkey (base64url fields).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A name for the passkey; one is made up from the authenticator when absent.
    #[serde(default)]
    pub label: Option<String>,
}

/// Open a recovery link
///
/// Creation options for a new passkey of the link's account. Opening does not use the link
/// up; finishing does.
#[utoipa::path(
    post,
    path = "/recover/start",
    operation_id = "recover_start",
    tag = "login",
    request_body = Start,
    responses(
        (status = 200, description = "The ceremony and its creation options", body = CeremonyOptions),
        (status = 400, description = "`invalid_ceremony`: the link is unknown, expired or already used"),
    ),
)]
async fn start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Start>,
) -> ApiResult<Json<CeremonyOptions>> {
    let started = recovery::start(&state, body.token.trim(), state.now()).await?;
    Ok(Json(CeremonyOptions {
        ceremony: started.ceremony,
        options: started.options,
    }))
}

/// Finish a recovery link
///
/// Verifies the new passkey; then, at most once per link, adds it, ends the account's other
/// sessions (and a session of another account the browser carried) and logs the person in.
#[utoipa::path(
    post,
    path = "/recover/finish",
    operation_id = "recover_finish",
    tag = "login",
    request_body = Finish,
    security((), ("sesame_session" = [])),
    responses(
        (status = 201, description = "The account, logged in", body = AccountBody,
            headers(("Set-Cookie" = String, description = "The new session cookie, and \
                `sesame_device` (this browser signed in: see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used \
            (the ceremony or its link)"),
        (status = 401, description = "`invalid_credential`: the passkey could not be verified"),
        (status = 409, description = "`credential_exists`: that passkey is already registered"),
    ),
)]
async fn finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    ApiJson(body): ApiJson<Finish>,
) -> ApiResult<(StatusCode, HeaderMap, Json<AccountBody>)> {
    let credential: RegisterPublicKeyCredential = parse_credential(body.credential)?;
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let (account, issued) = recovery::finish(
        &state,
        ceremony,
        &credential,
        body.label.as_deref(),
        &client,
        current.as_ref(),
        state.now(),
    )
    .await?;
    let mut headers = HeaderMap::new();
    auth::signed_in(&state, &mut headers, issued, account.id);
    let account = accounts::view(state.read_side(), &account).await?;
    Ok((StatusCode::CREATED, headers, Json(AccountBody { account })))
}
