//! The account's security activity (contract "Account": `/account/events`).

use axum::{
    Json,
    extract::{Query, State, rejection::QueryRejection},
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{
    auth::CurrentSession,
    error::{ApiError, ApiResult},
    service::activity::{self, EventView},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// `?limit=N&before=<RFC 3339>&before_id=<uuid>`; anything else is a bad request.
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
    /// With `before`: the `id` of the last event of the previous page, whose `at` is `before`.
    /// The next page then starts right after that event, including other events of the same
    /// millisecond (without it they would be skipped).
    #[serde(default)]
    pub before_id: Option<uuid::Uuid>,
}

/// The account's security activity
///
/// Newest first, one page at a time. Events are kept for the server's retention period
/// (`SESAME_EVENT_RETENTION_DAYS`, 365 days unless configured otherwise).
#[utoipa::path(
    get,
    path = "/account/events",
    operation_id = "events_list",
    tag = "events",
    params(EventsQuery),
    security(("sesame_session" = [])),
    responses(
        (status = 200, description = "A page of events, newest first", body = [EventView]),
        (status = 400, description = "`invalid_request`: a bad `limit`, `before` or \
            `before_id`, `before_id` without `before`, or an unknown query parameter"),
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
        query.before_id,
    )
    .await?;
    Ok(Json(events))
}
