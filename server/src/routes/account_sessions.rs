//! The account's sessions (contract "Account": `/account/sessions…`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{delete, get},
};
use uuid::Uuid;

use crate::{
    auth::{self, CurrentSession},
    error::{ApiError, ApiResult},
    extract::ClientInfo,
    service::account_sessions::{self, SessionView},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/sessions", get(list).delete(revoke_others))
        .route("/account/sessions/{id}", delete(revoke))
}

async fn list(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(
        account_sessions::list(&state.db, &state.config, &auth, state.now()).await?,
    ))
}

/// End one session; ending the current one is a log-out, so its cookie is cleared too.
async fn revoke(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let was_current = account_sessions::revoke(&state, &auth, id, &client, state.now()).await?;
    let mut headers = HeaderMap::new();
    if was_current {
        auth::with_cookie(&mut headers, auth::clear_cookie(&state));
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

async fn revoke_others(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    client: ClientInfo,
) -> ApiResult<StatusCode> {
    account_sessions::revoke_others(&state, &auth, &client, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
