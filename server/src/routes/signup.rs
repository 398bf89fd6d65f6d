//! Sign-up with a passkey (contract "Sign-up").

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use super::routes;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{AccountBody, CeremonyOptions, ceremony_id, parse_credential};
use crate::{
    auth::{self, CurrentSession},
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::{accounts, passkeys},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(passkey_start))
        .routes(routes!(passkey_finish))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignupPasskeyStart)]
pub struct PasskeyStart {
    /// 3–64 characters after NFKC normalisation and lower-casing: ASCII letters, digits,
    /// `.`, `_`, `-`.
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignupPasskeyFinish)]
pub struct PasskeyFinish {
    pub ceremony: String,
    /// What `PublicKeyCredential.toJSON()` returns for the new passkey (base64url fields).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A name for the passkey; one is made up from the authenticator when absent.
    #[serde(default)]
    pub label: Option<String>,
}

/// Start signing up with a passkey
///
/// Creation options for a discoverable passkey (`residentKey: "required"`, user verification
/// required). No account exists until `finish` proves the passkey.
#[utoipa::path(
    post,
    path = "/signup/passkey/start",
    operation_id = "signup_passkey_start",
    tag = "signup",
    request_body = PasskeyStart,
    responses(
        (status = 200, description = "The ceremony and its creation options", body = CeremonyOptions),
        (status = 400, description = "`invalid_username`: not 3–64 allowed characters"),
        (status = 409, description = "`username_taken`: an account has that username"),
    ),
)]
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

/// Finish signing up with a passkey
///
/// Verifies the new passkey, creates the account and logs it in. A session of another account
/// the browser carried ends.
#[utoipa::path(
    post,
    path = "/signup/passkey/finish",
    operation_id = "signup_passkey_finish",
    tag = "signup",
    request_body = PasskeyFinish,
    security((), ("sesame_session" = [])),
    responses(
        (status = 201, description = "The account, logged in", body = AccountBody,
            headers(("Set-Cookie" = String, description = "The new session cookie, and \
                `sesame_device` (this browser signed in: see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used"),
        (status = 401, description = "`invalid_credential`: the passkey could not be verified"),
        (status = 409, description = "`credential_exists`: that passkey is already registered\n\n\
            `username_taken`: the username was taken meanwhile"),
    ),
)]
async fn passkey_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    ApiJson(body): ApiJson<PasskeyFinish>,
) -> ApiResult<(StatusCode, HeaderMap, Json<AccountBody>)> {
    let credential: RegisterPublicKeyCredential = parse_credential(body.credential)?;
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let (account, issued) = passkeys::signup_finish(
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
