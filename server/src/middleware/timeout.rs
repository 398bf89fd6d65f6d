//! A time limit on each request, from its parsed head to its response (reading the body
//! included): a request that takes longer — a client trickling its body, a stuck dependency —
//! is answered 503 `unavailable` and its handler dropped, which rolls back any open transaction
//! and returns its database connection. Database work starts only after the body has been read
//! (every handler takes its `ApiJson` body last; the session lookup before it holds a
//! connection only for its own query), so a slow body never holds a connection anyway. The
//! head itself is limited by the header read timeout in [`super::serve`].

use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// The middleware: the configured `request_timeout_secs` as a `Duration` is its state.
pub async fn limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    // A clone of the URI shares hyper's buffer: no copy of the path unless it is logged.
    let uri = request.uri().clone();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let path = uri.path();
            tracing::warn!(%path, limit_secs = limit.as_secs(), "request timed out");
            ApiError::Unavailable.into_response()
        }
    }
}
