//! The last touches on every answer: the contract's error body for the errors axum makes
//! itself (405, 413, 404 on a bad path parameter …) and the security headers (OWASP ASVS 5.0
//! V3.4): no sniffing, no referrer, no framing, a content security policy; `no-store` on API
//! answers.
//!
//! A plain tower service whose future is the inner one's with a function applied to its
//! answer. The two `axum::middleware::from_fn` layers it replaces each boxed the service
//! below them and its future, for every request (docs/PERFORMANCE.md, item 21).

use std::task::{Context, Poll};

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{TryFutureExt, future::MapOk};
use tower::{Layer, Service};

use crate::error::ApiError;

/// The layer of [`Answer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AnswerLayer;

impl<S> Layer<S> for AnswerLayer {
    type Service = Answer<S>;
    fn layer(&self, inner: S) -> Answer<S> {
        Answer { inner }
    }
}

/// See the module documentation.
#[derive(Clone, Copy, Debug)]
pub struct Answer<S> {
    inner: S,
}

impl<S: Service<Request, Response = Response>> Service<Request> for Answer<S> {
    type Response = Response;
    type Error = S::Error;
    type Future = MapOk<S::Future, fn(Response) -> Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let finish: fn(Response) -> Response = if request.uri().path().starts_with("/api/") {
            api_answer
        } else {
            page_answer
        };
        self.inner.call(request).map_ok(finish)
    }
}

fn api_answer(response: Response) -> Response {
    let mut response = finish(response);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn page_answer(response: Response) -> Response {
    finish(response)
}

/// The contract's error body for a client error without one, then the security headers.
fn finish(response: Response) -> Response {
    let mut response = contract_error(response);
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// A client error whose body is not JSON (axum's own: 405, 413, 415, 404 on a bad path
/// parameter …) gets the contract's error body, with the same status.
fn contract_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::InvalidRequest("method not allowed for this path".into())
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        _ => ApiError::InvalidRequest("bad request".into()),
    };
    let mut replaced = error.into_response();
    *replaced.status_mut() = status;
    replaced
}
