//! Account two-factor methods and fallbacks: TOTP, contacts, recovery codes and the optional
//! password (contract "Account").

mod contacts;

pub use contacts::ContactStart;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use super::ceremony_id;
use crate::{
    auth::{self, CurrentSession, RecentSession},
    clock::rfc3339,
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    routes::codes::CodeFinish,
    service::{
        authenticator_app::{self, Enrolment},
        password, recovery,
    },
    state::AppState,
    store,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(totp_start))
        .routes(routes!(totp_finish))
        .routes(routes!(totp_disable))
        .merge(contacts::router())
        .routes(routes!(recovery_generate, recovery_status))
        .routes(routes!(password_set, password_remove))
}

/// A body that must be `{}` (or absent).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// No `Debug`: it holds a password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

/// No `Debug`: it holds the codes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown only this once.
    pub codes: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryStatus {
    /// Unused codes left.
    pub remaining: u64,
    /// When the current set was generated; `null` when there is none.
    #[schema(format = DateTime, required = true)]
    pub created_at: Option<String>,
}

/// Start turning TOTP on
///
/// A new secret for an authenticator app (SHA-1, 6 digits, 30-second steps); TOTP is on only
/// after `finish` proves the app has it.
#[utoipa::path(
    post,
    path = "/account/totp/start",
    tag = "factors",
    request_body = Empty,
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 200, description = "The secret, its `otpauth://` URI and QR code", body = Enrolment),
    ),
)]
async fn totp_start(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    _body: ApiJson<Empty>,
) -> ApiResult<Json<Enrolment>> {
    Ok(Json(
        authenticator_app::start(&state, &auth, state.now()).await?,
    ))
}

/// Finish turning TOTP on
///
/// A current code from the app proves it has the secret.
#[utoipa::path(
    post,
    path = "/account/totp/finish",
    tag = "factors",
    request_body = CodeFinish,
    security(("sesame_session" = [])),
    responses(
        (status = 204, description = "TOTP is on",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used, or \
            started by another account"),
        (status = 401, description = "`invalid_code`: wrong code"),
        (status = 429, description = "`too_many_attempts`: the account is locked out for now"),
    ),
)]
async fn totp_finish(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeFinish>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    authenticator_app::finish(&state, &auth, ceremony, &body.code, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Turn TOTP off
///
/// Every other session of the account ends.
#[utoipa::path(
    delete,
    path = "/account/totp",
    tag = "factors",
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 204, description = "TOTP is off",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 404, description = "`not_found`: TOTP is not on"),
        (status = 409, description = "`last_method`: it is the account's last way in"),
    ),
)]
async fn totp_disable(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
) -> ApiResult<(StatusCode, HeaderMap)> {
    authenticator_app::disable(&state, &auth, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Generate recovery codes
///
/// Ten new single-use codes, shown once; they replace any earlier set.
#[utoipa::path(
    post,
    path = "/account/recovery-codes",
    tag = "factors",
    request_body = Empty,
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 201, description = "The new codes", body = RecoveryCodes),
    ),
)]
async fn recovery_generate(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    _body: ApiJson<Empty>,
) -> ApiResult<(StatusCode, Json<RecoveryCodes>)> {
    let codes = recovery::generate(&state, &auth, &client, state.now()).await?;
    crate::service::notify::security_notice(
        &state,
        auth.account.id,
        "New recovery codes were generated for your account",
        &client,
    );
    Ok((StatusCode::CREATED, Json(RecoveryCodes { codes })))
}

/// Recovery codes left
#[utoipa::path(
    get,
    path = "/account/recovery-codes",
    tag = "factors",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "How many unused codes are left", body = RecoveryStatus),
    ),
)]
async fn recovery_status(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<RecoveryStatus>> {
    let (remaining, created_at) =
        store::recovery_codes::status(&state.reads, auth.account.id).await?;
    Ok(Json(RecoveryStatus {
        remaining,
        created_at: created_at.map(rfc3339),
    }))
}

/// Set or change the password
///
/// A password never logs in alone: with one, a code log-in needs it too. Every other session
/// of the account ends.
#[utoipa::path(
    put,
    path = "/account/password",
    tag = "factors",
    request_body = PasswordBody,
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 204, description = "The password is set",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 400, description = "`invalid_request`: the password has fewer than 8 or more \
            than 128 characters, or is too easy to guess"),
    ),
)]
async fn password_set(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    password::account::set(&state, &auth, &body.password, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Remove the password
///
/// Every other session of the account ends.
#[utoipa::path(
    delete,
    path = "/account/password",
    tag = "factors",
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 204, description = "The password is removed",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 404, description = "`not_found`: the account has no password"),
    ),
)]
async fn password_remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
) -> ApiResult<(StatusCode, HeaderMap)> {
    password::account::remove(&state, &auth, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}
