//! `/healthz` (the process runs) and `/readyz` (the database answers).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{error::ApiError, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness
///
/// 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process runs", body = String, example = "ok")),
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness
///
/// 200 when the database answers, else 503; 503 too while the server drains after SIGTERM
/// (`SESAME_SHUTDOWN_DRAIN_SECS`), when it still serves every other request.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers", body = String, example = "ready"),
        (status = 503, description = "`unavailable`: the database does not answer, or the server is shutting down"),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    // Draining: the load balancer takes this instance out while its requests are still served.
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::Unavailable);
    }
    // A connection PostgreSQL closed while idle (a fail-over, a restart) says nothing about the
    // database now: the ping is sent once more, on a tested connection (`db::liveness`).
    let ping = crate::db::liveness::repeat_if_lost(|| state.db.ping());
    ping.await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable
    })?;
    Ok("ready")
}
