//! The account's sessions (contract "Account": `/account/sessions…`).

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use utoipa_axum::router::OpenApiRouter;

use super::{PathId, routes};

use crate::{
    auth::{self, CurrentSession},
    error::ApiResult,
    extract::ClientInfo,
    service::account_sessions::{self, SessionView},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, revoke_others))
        .routes(routes!(revoke))
}

/// The account's sessions
#[utoipa::path(
    get,
    path = "/account/sessions",
    operation_id = "sessions_list",
    tag = "sessions",
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "The live sessions, the most recently active first",
            body = [SessionView]),
    ),
)]
async fn list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(
        account_sessions::list(&state.reads, &state.config, &auth, state.now()).await?,
    ))
}

/// End one session
///
/// Any session of the account may end any other; ending the current one is a log-out, so its
/// cookie is cleared too.
#[utoipa::path(
    delete,
    path = "/account/sessions/{id}",
    operation_id = "sessions_revoke",
    tag = "sessions",
    params(("id" = uuid::Uuid, Path, description = "The session's id")),
    security(("sesame_session" = [])),
    responses(
        (status = 204, description = "The session has ended",
            headers(("Set-Cookie" = String, description = "Clears the cookie when it was the current session"))),
        (status = 404, description = "`not_found`: no such session on this account"),
    ),
)]
async fn revoke(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    id: PathId,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = id.id()?;
    let was_current = account_sessions::revoke(&state, &auth, id, &client, state.now()).await?;
    let mut headers = HeaderMap::new();
    if was_current {
        auth::with_cookie(&mut headers, auth::clear_cookie(&state));
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// End every other session
#[utoipa::path(
    delete,
    path = "/account/sessions",
    operation_id = "sessions_revoke_others",
    tag = "sessions",
    security(("sesame_session" = [])),
    responses(
        (status = 204, description = "Every session but the current one has ended, and every \
            other browser that signed in before is no longer a known device",
            headers(("Set-Cookie" = String, description = "A new `sesame_device` cookie: this \
                browser stays known (see `login_code_start`)"))),
    ),
)]
async fn revoke_others(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
) -> ApiResult<(StatusCode, HeaderMap)> {
    account_sessions::revoke_others(&state, &auth, &client, state.now()).await?;
    Ok((
        StatusCode::NO_CONTENT,
        auth::still_known(&state, &auth).await,
    ))
}
