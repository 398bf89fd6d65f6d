//! A time limit on each request, from its parsed head to its response (reading the body
//! included): a request that takes longer — a client trickling its body, a stuck dependency —
//! is answered 503 `unavailable` and its handler dropped, which rolls back any open transaction
//! and returns its database connection. Database work starts only after the body has been read
//! (every handler takes its `ApiJson` body last; the session lookup before it holds a
//! connection only for its own query), so a slow body never holds a connection anyway. The
//! head itself is limited by the header read timeout in [`super::serve`].
//!
//! A plain tower service: the inner future inside tokio's `Timeout`, with no box. The
//! `axum::middleware::from_fn` it replaces boxed a clone of the service below and its future on
//! every request (docs/performance-history.md, item 25).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    extract::Request,
    http::Uri,
    response::{IntoResponse, Response},
};
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower::{Layer, Service};

use crate::error::ApiError;

/// The layer: the configured `request_timeout_secs` as a `Duration`.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimitLayer(pub Duration);

impl<S> Layer<S> for TimeLimitLayer {
    type Service = TimeLimit<S>;
    fn layer(&self, inner: S) -> TimeLimit<S> {
        TimeLimit {
            limit: self.0,
            inner,
        }
    }
}

/// See the module documentation.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimit<S> {
    limit: Duration,
    inner: S,
}

impl<S> Service<Request> for TimeLimit<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // A clone of the URI shares hyper's buffer: no copy of the path unless it is logged.
        let uri = request.uri().clone();
        TimeLimitFuture {
            inner: tokio::time::timeout(self.limit, self.inner.call(request)),
            uri,
            limit: self.limit,
        }
    }
}

pin_project! {
    /// The inner future, or 503 `unavailable` once the limit has passed.
    pub struct TimeLimitFuture<F> {
        #[pin]
        inner: Timeout<F>,
        uri: Uri,
        limit: Duration,
    }
}

impl<F, E> Future for TimeLimitFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match ready!(this.inner.poll(cx)) {
            Ok(answer) => Poll::Ready(answer),
            Err(_) => {
                let path = this.uri.path();
                let limit_secs = this.limit.as_secs();
                tracing::warn!(%path, limit_secs, "request timed out");
                Poll::Ready(Ok(ApiError::Unavailable.into_response()))
            }
        }
    }
}
