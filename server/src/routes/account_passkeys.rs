//! The account's passkeys (contract "Account": `/account/passkeys…`).

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use super::routes;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{CeremonyOptions, PathId, ceremony_id, parse_credential};
use crate::{
    auth::{self, CurrentSession, RecentSession},
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    service::account_passkeys::{self, PasskeyView, SignalView},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(add_start))
        .routes(routes!(add_finish))
        .routes(routes!(signal))
        .routes(routes!(rename, remove))
}

/// `{}`: nothing to choose; unknown fields are refused like everywhere else.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasskeyAddStart)]
pub struct AddStart {}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasskeyAddFinish)]
pub struct AddFinish {
    pub ceremony: String,
    /// What `PublicKeyCredential.toJSON()` returns for the new passkey (base64url fields).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A name for the passkey; one is made up from the authenticator when absent.
    #[serde(default)]
    pub label: Option<String>,
}

/// Only the label can change; `backup_state` and friends are the authenticator's to say.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasskeyRename)]
pub struct Rename {
    pub label: String,
}

/// The account's passkeys
#[utoipa::path(
    get,
    path = "/account/passkeys",
    operation_id = "passkeys_list",
    tag = "passkeys",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The passkeys, oldest first", body = [PasskeyView]),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    Ok(Json(account_passkeys::list(&state, &auth).await?))
}

/// Start adding a passkey
///
/// Creation options for the account's own user handle, excluding the passkeys it has.
#[utoipa::path(
    post,
    path = "/account/passkeys/start",
    operation_id = "passkeys_add_start",
    tag = "passkeys",
    request_body = AddStart,
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 200, description = "The ceremony and its creation options", body = CeremonyOptions),
        (status = 409, description = "`limit_reached`: the account holds 100 passkeys, the most \
            one account may; remove one first"),
    ),
)]
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

/// Finish adding a passkey
#[utoipa::path(
    post,
    path = "/account/passkeys/finish",
    operation_id = "passkeys_add_finish",
    tag = "passkeys",
    request_body = AddFinish,
    security(("sesame_session" = [])),
    responses(
        (status = 201, description = "The new passkey", body = PasskeyView),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used, or \
            started by another session\n\n`invalid_request`: a malformed credential or a bad label"),
        (status = 401, description = "`invalid_credential`: the passkey could not be verified"),
        (status = 409, description = "`credential_exists`: that passkey is already registered\n\n\
            `limit_reached`: the account holds 100 passkeys, the most one account may"),
    ),
)]
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

/// Facts for the browser's Signal API
///
/// What `PublicKeyCredential.signalAllAcceptedCredentials()` and `signalCurrentUserDetails()`
/// need, so the passkey provider can hide removed passkeys and show the current names.
#[utoipa::path(
    get,
    path = "/account/passkeys/signal",
    operation_id = "passkeys_signal",
    tag = "passkeys",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The RP id, user handle, accepted credential ids and names",
            body = SignalView),
    ),
)]
async fn signal(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<SignalView>> {
    Ok(Json(account_passkeys::signal(&state, &auth).await?))
}

/// Rename a passkey
#[utoipa::path(
    patch,
    path = "/account/passkeys/{id}",
    operation_id = "passkeys_rename",
    tag = "passkeys",
    params(("id" = uuid::Uuid, Path, description = "The passkey's id")),
    request_body = Rename,
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The renamed passkey", body = PasskeyView),
        (status = 400, description = "`invalid_request`: the label is empty or too long"),
        (status = 404, description = "`not_found`: no such passkey on this account"),
    ),
)]
async fn rename(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    id: PathId,
    ApiJson(body): ApiJson<Rename>,
) -> ApiResult<Json<PasskeyView>> {
    let id = id.id()?;
    let passkey =
        account_passkeys::rename(&state, &auth, id, &body.label, &client, state.now()).await?;
    Ok(Json(passkey))
}

/// Remove a passkey
///
/// Every other session of the account ends.
#[utoipa::path(
    delete,
    path = "/account/passkeys/{id}",
    operation_id = "passkeys_remove",
    tag = "passkeys",
    params(("id" = uuid::Uuid, Path, description = "The passkey's id")),
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 204, description = "Removed",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 404, description = "`not_found`: no such passkey on this account"),
        (status = 409, description = "`last_method`: it is the account's last way in"),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    id: PathId,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = id.id()?;
    account_passkeys::remove(&state, &auth, id, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}
