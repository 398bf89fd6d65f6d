//! Log-in with a passkey, log-out and the session check (contract "Log-in").

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use super::routes;
use uuid::Uuid;
use webauthn_rs::prelude::PublicKeyCredential;

use super::{AccountBody, CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    auth::{self, CurrentSession},
    clock::rfc3339,
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::{accounts, methods_list, passkeys},
    state::AppState,
    store,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(passkey_start))
        .routes(routes!(passkey_finish))
        .routes(routes!(logout))
        .routes(routes!(session))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginPasskeyStart)]
pub struct PasskeyStart {
    /// Without it the options allow any discoverable passkey (usernameless log-in).
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginPasskeyFinish)]
pub struct PasskeyFinish {
    pub ceremony: String,
    /// What `PublicKeyCredential.toJSON()` returns for the assertion (base64url fields).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `GET /api/v1/session`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SessionCheck)]
pub struct SessionBody {
    pub account_id: Uuid,
    pub username: String,
    pub session_id: Uuid,
    #[schema(format = DateTime)]
    pub authenticated_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// How the session authenticated: `passkey`, `totp`, `email`, `sms`, `recovery`, `password`.
    pub methods: Vec<String>,
}

/// Start logging in with a passkey
///
/// Without a username the options allow any discoverable passkey. With a known username
/// `allowCredentials` lists its passkeys; with an unknown one it lists stand-in ids derived
/// from the username with a server key (stable per username), so the answer never tells
/// whether a username exists.
#[utoipa::path(
    post,
    path = "/login/passkey/start",
    operation_id = "login_passkey_start",
    tag = "login",
    request_body = PasskeyStart,
    responses(
        (status = 200, description = "The ceremony and its request options", body = CeremonyOptions),
    ),
)]
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

/// Finish logging in with a passkey
///
/// With a valid session for the same account this is a re-authentication: the session's
/// authentication time is refreshed. Either way a new session token is issued.
#[utoipa::path(
    post,
    path = "/login/passkey/finish",
    operation_id = "login_passkey_finish",
    tag = "login",
    request_body = PasskeyFinish,
    security((), ("sesame_session" = [])),
    responses(
        (status = 200, description = "The account, logged in", body = AccountBody,
            headers(("Set-Cookie" = String, description = "The new session cookie, and \
                `sesame_device` (this browser signed in: see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used"),
        (status = 401, description = "`invalid_credential`: the passkey could not be verified"),
    ),
)]
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
    auth::signed_in(&state, &mut headers, issued, account.id);
    let account = accounts::view(state.read_side(), &account).await?;
    Ok((headers, Json(AccountBody { account })))
}

/// Log out
///
/// The session is deleted server-side and the cookie cleared; without a session it only
/// clears the cookie.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "login",
    security((), ("sesame_session" = [])),
    responses(
        (status = 204, description = "Logged out",
            headers(("Set-Cookie" = String, description = "Clears the session cookie"))),
    ),
)]
async fn logout(
    State(state): State<AppState>,
    current: Option<CurrentSession>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    if let Some(CurrentSession(auth)) = current {
        let (account, session) = (auth.account.id, auth.session.id);
        state
            .writer
            .write(
                move |db| async move { Ok(store::sessions::delete(&db, account, session).await?) },
            )
            .await?;
    }
    let mut headers = HeaderMap::new();
    auth::with_cookie(&mut headers, auth::clear_cookie(&state));
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The session check
///
/// The cheap check that apps and reverse proxies (nginx `auth_request`, Caddy `forward_auth`,
/// Traefik `forwardAuth`) make on every request: one indexed read.
#[utoipa::path(
    get,
    path = "/session",
    tag = "login",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The session is valid", body = SessionBody,
            headers(
                ("X-Sesame-User" = String, description = "The account's username"),
                ("X-Sesame-Account-Id" = uuid::Uuid, description = "The account's id"),
            )),
    ),
)]
async fn session(
    CurrentSession(auth): CurrentSession,
) -> ApiResult<(HeaderMap, Json<SessionBody>)> {
    let mut headers = HeaderMap::new();
    auth::identity_headers(&mut headers, &auth.account)?;
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
