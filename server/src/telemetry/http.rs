//! The operational HTTP layers: a request id for every request (`x-request-id`, also on the
//! response), a `request` span carrying it around everything the request logs, one access-log
//! line per answer, and the HTTP metrics.
//!
//! Order, outermost first: drop an unusable incoming id → set the id (tower-http, keeps a
//! well-formed one from the reverse proxy, else a new UUID) → copy it to the response → the
//! span and access log (tower-http `TraceLayer`) → the metrics. `startup::app_router` stacks
//! them outermost, with `Router::layer`, so they run after routing and see the matched route
//! template.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::{HeaderName, Method},
    response::Response,
};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::{DefaultOnBodyChunk, DefaultOnEos, DefaultOnResponse, TraceLayer},
};
use tracing::{Level, Span};

/// The request id header, on requests and responses.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span and access-log layer: a `request` span around each request, one `INFO` line per
/// answer, nothing on the request's arrival.
pub type Trace = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request) -> Span,
    (),
    DefaultOnResponse,
    DefaultOnBodyChunk,
    DefaultOnEos,
    (),
>;

pub fn trace() -> Trace {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> Span)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(())
}

/// The span every log line of a request is written in. The path, never the query string:
/// `/recover?token=…` (the recovery link's earlier form) carries a secret.
fn request_span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = route(request),
        path = %request.uri().path(),
    )
}

fn route<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}

/// Keep an incoming `x-request-id` (from the reverse proxy, e.g. nginx's `$request_id`) only
/// when it is a short token; anything else is replaced, so a client cannot write arbitrary
/// text into the logs.
pub fn drop_unusable_id(mut request: Request) -> Request {
    let unusable = request
        .headers()
        .get(&REQUEST_ID)
        .is_some_and(|v| !usable_id(v.as_bytes()));
    if unusable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// 1–64 characters of `A–Z a–z 0–9 - _ . :`.
pub fn usable_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The HTTP metrics: each request counted and timed, labelled by its matched route. A plain
/// tower service with no box per request (docs/performance-history.md, item 25).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordLayer;

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;
    fn layer(&self, inner: S) -> Record<S> {
        Record { inner }
    }
}

/// See [`RecordLayer`].
#[derive(Clone, Copy, Debug)]
pub struct Record<S> {
    inner: S,
}

impl<S, B> Service<Request> for Record<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = RecordFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = method_label(request.method());
        // The matched route is shared (an `Arc` inside); a clone copies no text.
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let started = Instant::now();
        RecordFuture {
            inner: self.inner.call(request),
            method,
            matched,
            started,
        }
    }
}

pin_project! {
    /// The inner future; counts and times its answer.
    pub struct RecordFuture<F> {
        #[pin]
        inner: F,
        method: &'static str,
        matched: Option<MatchedPath>,
        started: Instant,
    }
}

impl<F, B, E> Future for RecordFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let route = this
            .matched
            .as_ref()
            .map_or("unmatched", MatchedPath::as_str);
        let status = response.status().as_u16();
        super::metrics::http_request(this.method, route, status, this.started.elapsed());
        Poll::Ready(Ok(response))
    }
}

/// The standard methods by name; anything else as `other` (a label per invented method would
/// let a client grow the series without bound).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::usable_id;

    #[test]
    fn only_short_token_ids_are_kept() {
        assert!(usable_id(b"3f2a9c1e-0b7d-4c55-9a2e-1d2c3b4a5f60"));
        assert!(usable_id(b"abc.def:1"));
        assert!(!usable_id(b""));
        assert!(!usable_id(b"has space"));
        assert!(!usable_id(b"line\nbreak"));
        assert!(!usable_id(&[b'a'; 65]));
    }
}
