//! The account's security activity (contract "Account": `/account/events`).

use axum::{
    Json,
    extract::{Query, State, rejection::QueryRejection},
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentSession,
    error::{ApiError, ApiResult},
    service::activity::{self, EventView},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// `?limit=N&before=<RFC 3339>`; anything else is a bad request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events per page, 1–100 (default 20).
    #[serde(default)]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Only events strictly older than this RFC 3339 time stamp (the next page).
    #[serde(default)]
    #[param(format = DateTime)]
    pub before: Option<String>,
}

/// The account's security activity
///
/// Newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/account/events",
    operation_id = "events_list",
    tag = "events",
    params(EventsQuery),
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "A page of events, newest first", body = [EventView]),
        (status = 400, description = "`invalid_request`: a bad `limit` or `before`, or an \
            unknown query parameter"),
    ),
)]
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
