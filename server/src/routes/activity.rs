//! The account's security activity (contract "Account": `/account/events`).

use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    routing::get,
};
use serde::Deserialize;

use crate::{
    auth::CurrentSession,
    error::{ApiError, ApiResult},
    service::activity::{self, EventView},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/account/events", get(events))
}

/// `?limit=N&before=<RFC 3339>`; anything else is a bad request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub before: Option<String>,
}

async fn events(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<EventView>>> {
    let Query(query) =
        query.map_err(|e| ApiError::InvalidRequest(format!("invalid query: {}", e.body_text())))?;
    let events = activity::list(
        &state,
        auth.account.id,
        query.limit,
        query.before.as_deref(),
    )
    .await?;
    Ok(Json(events))
}
