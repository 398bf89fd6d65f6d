//! Sign-up and log-in with one-time codes (contract "Sign-up" and "Log-in").

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use super::routes;
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup_start))
        .routes(routes!(signup_finish))
        .routes(routes!(login_start))
        .routes(routes!(login_finish))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignupCodeStart)]
pub struct SignupStart {
    pub username: String,
    pub channel: Channel,
    /// An email address, or a phone number in E.164 for `sms`.
    pub address: String,
}

/// No `Debug`: it holds a code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeFinish {
    pub ceremony: String,
    /// The 6-digit code.
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginCodeStart)]
pub struct LoginStart {
    pub username: String,
    pub method: CodeMethod,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginCodeFinish)]
pub struct LoginFinish {
    pub ceremony: String,
    /// The code: TOTP, emailed or texted (6 digits), or a recovery code.
    pub code: String,
    /// Needed, with the code, when the account has a password.
    #[serde(default)]
    pub password: Option<String>,
}

/// `{"ceremony"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CeremonyBody {
    pub ceremony: Uuid,
}

/// Start signing up with a code
///
/// A 6-digit code is sent to `address` (valid 10 minutes). No account exists until `finish`
/// proves the address.
#[utoipa::path(
    post,
    path = "/signup/code/start",
    operation_id = "signup_code_start",
    tag = "signup",
    request_body = SignupStart,
    responses(
        (status = 202, description = "The code was sent", body = CeremonyBody),
        (status = 400, description = "`invalid_username`: not 3–64 allowed characters\n\n\
            `invalid_request`: not a valid email address or phone number"),
        (status = 409, description = "`username_taken`: an account has that username"),
        (status = 429, description = "`too_many_attempts`: a code was sent to that address \
            (or another tag of its mailbox, `name+tag@…`) less than 30 s ago, or five in the \
            last hour; or this client address had `SESAME_CLIENT_CODES_PER_HOUR` (10) sign-up \
            and contact codes sent in the last hour, whatever the addresses"),
    ),
)]
async fn signup_start(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SignupStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let client_ip = client.ip_addr();
    let ceremony = code_login::signup_start(
        &state,
        &body.username,
        (body.channel, &body.address),
        client_ip,
        state.now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

/// Finish signing up with a code
///
/// Creates the account, with the address as a verified contact, and logs it in; a session of
/// another account the browser carried ends. The fifth wrong code ends the ceremony, and at
/// most five codes are checked however many are sent at once.
#[utoipa::path(
    post,
    path = "/signup/code/finish",
    operation_id = "signup_code_finish",
    tag = "signup",
    request_body = CodeFinish,
    security((), ("sesame_session" = [])),
    responses(
        (status = 201, description = "The account, logged in", body = AccountBody,
            headers(("Set-Cookie" = String, description = "The new session cookie, and \
                `sesame_device` (this browser signed in: see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used"),
        (status = 401, description = "`invalid_code`: wrong, expired or used code"),
        (status = 409, description = "`username_taken`: the username was taken meanwhile"),
    ),
)]
async fn signup_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    ApiJson(body): ApiJson<CodeFinish>,
) -> ApiResult<(StatusCode, HeaderMap, Json<AccountBody>)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let (account, issued) = code_login::signup_finish(
        &state,
        ceremony,
        &body.code,
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

/// Start logging in with a code
///
/// Always 202 with a ceremony, for an unknown user or a method the account lacks too (nothing
/// is sent then, and finishing fails like a wrong code). For `email` and `sms` a code goes to
/// the account's most recent verified contact of that channel, sent after the answer (so a
/// mail or SMS outage does not show here: the answer is the same for every username).
#[utoipa::path(
    post,
    path = "/login/code/start",
    operation_id = "login_code_start",
    tag = "login",
    request_body = LoginStart,
    responses(
        (status = 202, description = "The ceremony", body = CeremonyBody),
        (status = 429, description = "`too_many_attempts`: a code was sent for that username \
            and method less than 30 s ago, or five in the last hour (a browser that signed \
            in to the account before, with its `sesame_device` cookie, counts against a second \
            such limit, shared by the account's known devices)"),
    ),
)]
async fn login_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let known_device =
        |account_id, generation| auth::is_known_device(&state, &headers, account_id, generation);
    let ceremony = code_login::login_start(
        &state,
        &body.username,
        body.method,
        known_device,
        state.now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

/// Finish logging in with a code
///
/// For an account with a password, `password` is needed too. With a valid session for the
/// same account this is a re-authentication. Failed attempts count per account across all
/// code methods; after too many, 429 until the wait ends. A browser that signed in to the
/// account before (its `sesame_device` cookie) does not wait, for four tries an hour that
/// the account's known devices share; the hard lock after 100 failures stops it too.
#[utoipa::path(
    post,
    path = "/login/code/finish",
    operation_id = "login_code_finish",
    tag = "login",
    request_body = LoginFinish,
    security((), ("sesame_session" = [])),
    responses(
        (status = 200, description = "The account, logged in", body = AccountBody,
            headers(("Set-Cookie" = String, description = "The new session cookie, and \
                `sesame_device` (this browser signed in: see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used"),
        (status = 401, description = "`invalid_code`: wrong, expired or used code, or wrong \
            password (one answer for all)"),
        (status = 429, description = "`too_many_attempts`: the account is locked out for now; \
            wait `Retry-After` seconds (a passkey log-in still works, and a known device's \
            code log-in within the known devices' four tries an hour)"),
    ),
)]
async fn login_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    current: Option<CurrentSession>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginFinish>,
) -> ApiResult<(HeaderMap, Json<AccountBody>)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    let current = current.map(|CurrentSession(c)| c);
    let attempt = code_login::Attempt {
        ceremony,
        code: &body.code,
        password: body.password.as_deref(),
    };
    let known_device =
        |account_id, generation| auth::is_known_device(&state, &headers, account_id, generation);
    let (account, issued) = code_login::login_finish(
        &state,
        attempt,
        &client,
        known_device,
        current.as_ref(),
        state.now(),
    )
    .await?;
    let mut headers = HeaderMap::new();
    auth::signed_in(&state, &mut headers, issued, account.id);
    let account = accounts::view(state.read_side(), &account).await?;
    Ok((headers, Json(AccountBody { account })))
}
