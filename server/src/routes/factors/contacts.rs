//! Account contacts (contract "Account"): list the verified contacts, add one by proving a
//! code sent to it, remove one.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use crate::routes::{PathId, ceremony_id, routes};
use crate::{
    auth::{self, CurrentSession, RecentSession},
    error::ApiResult,
    extract::{ApiJson, ClientInfo},
    routes::codes::{CeremonyBody, CodeFinish},
    service::{
        codes::Channel,
        contacts::{self, ContactView},
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts_list))
        .routes(routes!(contact_start))
        .routes(routes!(contact_finish))
        .routes(routes!(contact_remove))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactStart {
    pub channel: Channel,
    /// An email address, or a phone number in E.164 for `sms`.
    pub address: String,
}

/// The account's contacts
#[utoipa::path(
    get,
    path = "/account/contacts",
    tag = "factors",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The verified contacts (addresses masked)", body = [ContactView]),
    ),
)]
async fn contacts_list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<ContactView>>> {
    Ok(Json(contacts::list(&state, auth.account.id).await?))
}

/// Start adding a contact
///
/// A 6-digit code is sent to the address (valid 10 minutes).
#[utoipa::path(
    post,
    path = "/account/contacts/start",
    tag = "factors",
    request_body = ContactStart,
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 202, description = "The code was sent", body = CeremonyBody),
        (status = 400, description = "`invalid_request`: not a valid email address or phone number"),
        (status = 409, description = "`limit_reached`: the account holds 20 contacts, the most one \
            account may, and this address is not one of them; remove one first"),
        (status = 429, description = "`too_many_attempts`: a code was sent to that address \
            (or another tag of its mailbox, `name+tag@…`), or by this account to any address, \
            less than 30 s ago, or five in the last hour; or this client address had \
            `SESAME_CLIENT_CODES_PER_HOUR` (10) sign-up and contact codes sent in the last hour"),
    ),
)]
async fn contact_start(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    ApiJson(body): ApiJson<ContactStart>,
) -> ApiResult<(StatusCode, Json<CeremonyBody>)> {
    let address = (body.channel, body.address.as_str());
    let client_ip = client.ip_addr();
    let ceremony = contacts::start(&state, &auth, address, client_ip, state.now()).await?;
    Ok((StatusCode::ACCEPTED, Json(CeremonyBody { ceremony })))
}

/// Finish adding a contact
///
/// The code proves the address; it becomes a verified contact (a way in).
#[utoipa::path(
    post,
    path = "/account/contacts/finish",
    tag = "factors",
    request_body = CodeFinish,
    security(("sesame_session" = [])),
    responses(
        (status = 201, description = "The new contact", body = ContactView),
        (status = 400, description = "`invalid_ceremony`: unknown, expired or already used, or \
            started by another account"),
        (status = 401, description = "`invalid_code`: wrong, expired or used code"),
        (status = 409, description = "`limit_reached`: the account holds 20 contacts, the most one \
            account may"),
        (status = 429, description = "`too_many_attempts`: the account is locked out for now"),
    ),
)]
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

/// Remove a contact
///
/// Every other session of the account ends.
#[utoipa::path(
    delete,
    path = "/account/contacts/{id}",
    tag = "factors",
    params(("id" = uuid::Uuid, Path, description = "The contact's id")),
    security(("sesame_session" = ["recent"])),
    responses(
        (status = 204, description = "Removed",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: \
                this browser stays a known device (see `login_code_start`)"))),
        (status = 404, description = "`not_found`: no such contact on this account"),
        (status = 409, description = "`last_method`: it is the account's last way in"),
    ),
)]
async fn contact_remove(
    State(state): State<AppState>,
    RecentSession(auth): RecentSession,
    client: ClientInfo,
    id: PathId,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = id.id()?;
    contacts::remove(&state, &auth, id, &client, state.now()).await?;
    let headers = auth::still_known(&state, &auth).await;
    Ok((StatusCode::NO_CONTENT, headers))
}
