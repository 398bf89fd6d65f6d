//! Account two-factor methods and fallbacks: TOTP, contacts, recovery codes and the optional
//! password (contract "Account").

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post, put},
};
use serde::{Deserialize, Serialize};

use super::ceremony_id;
use crate::{
    auth::{CurrentSession, RecentSession},
    clock::rfc3339,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ClientInfo},
    routes::codes::{CeremonyBody, CodeFinish},
    service::{
        authenticator_app::{self, Enrolment},
        codes::Channel,
        contacts::{self, ContactView},
        password, recovery,
    },
    state::AppState,
    store,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/totp/start", post(totp_start))
        .route("/account/totp/finish", post(totp_finish))
        .route("/account/totp", delete(totp_disable))
        .route("/account/contacts", get(contacts_list))
        .route("/account/contacts/start", post(contact_start))
        .route("/account/contacts/finish", post(contact_finish))
        .route("/account/contacts/{id}", delete(contact_remove))
        .route(
            "/account/recovery-codes",
            post(recovery_generate).get(recovery_status),
        )
        .route(
            "/account/password",
            put(password_set).delete(password_remove),
        )
}

/// A body that must be `{}` (or absent).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactStart {
    pub channel: Channel,
    pub address: String,
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RecoveryStatus {
    pub remaining: u64,
    pub created_at: Option<String>,
}

async fn totp_start(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    ApiJson(_): ApiJson<Empty>,
) -> ApiResult<Json<Enrolment>> {
    Ok(Json(
        authenticator_app::start(&state, &auth, state.now()).await?,
    ))
}

async fn totp_finish(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeFinish>,
) -> ApiResult<StatusCode> {
    let ceremony = ceremony_id(&body.ceremony)?;
    authenticator_app::finish(&state, &auth, ceremony, &body.code, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn totp_disable(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    authenticator_app::disable(&state, &auth, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn contacts_list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<ContactView>>> {
    Ok(Json(contacts::list(&state, auth.account.id).await?))
}

async fn contact_start(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    ApiJson(body): ApiJson<ContactStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let ceremony = contacts::start(&state, &auth, body.channel, &body.address, state.now()).await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

async fn contact_finish(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeFinish>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    let ceremony = ceremony_id(&body.ceremony)?;
    let contact =
        contacts::finish(&state, &auth, ceremony, &body.code, &client, state.now()).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn contact_remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    contacts::remove(&state, &auth, id, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn recovery_generate(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    ApiJson(_): ApiJson<Empty>,
) -> ApiResult<(StatusCode, Json<RecoveryCodes>)> {
    let codes = recovery::generate(&state, auth.account.id, &client, state.now()).await?;
    crate::service::notify::security_notice(
        &state,
        auth.account.id,
        "New recovery codes were generated for your account",
        &client,
    );
    Ok((StatusCode::CREATED, Json(RecoveryCodes { codes })))
}

async fn recovery_status(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<RecoveryStatus>> {
    let (remaining, created_at) = store::recovery_codes::status(&state.db, auth.account.id).await?;
    Ok(Json(RecoveryStatus {
        remaining,
        created_at: created_at.map(rfc3339),
    }))
}

async fn password_set(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    password::account::set(&state, &auth, &body.password, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn password_remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    password::account::remove(&state, &auth, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
