//! The last touches on every answer: the contract's error body for the errors axum makes
//! itself (405, 413, 404 on a bad path parameter …), the security headers (OWASP ASVS 5.0
//! V3.4): no sniffing, no referrer, no framing, a content security policy; `no-store` on API
//! answers; and `Connection: close` when the request's body was not read to its end.
//!
//! That last one: an answer given before the body was read (a 401 from the session check, a
//! 413 over the body limit) leaves the rest of the body on the connection, so hyper closes the
//! connection after the answer, but without saying so. A client that sent its next request on
//! that connection got a reset or a broken pipe (measured: 300 of 300 after a 401 to a 30 KB
//! body, 212 of 300 after a 413). With `Connection: close` (RFC 9112 §9.6) the client opens a
//! new connection instead.
//!
//! A plain tower service whose future is the inner one's with the answer finished on the way
//! out. The two `axum::middleware::from_fn` layers it replaces each boxed the service below
//! them and its future, for every request (docs/performance-history.md, item 21).

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body::{Body as _, Frame, SizeHint};
use pin_project_lite::pin_project;
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

impl<S> Service<Request> for Answer<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AnswerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let api = request.uri().path().starts_with("/api/");
        // A request without a body (every GET) costs nothing here.
        let read = (!request.body().is_end_stream()).then(|| {
            let read = Arc::new(AtomicBool::new(false));
            let body = std::mem::take(request.body_mut());
            *request.body_mut() = Body::new(Watched {
                inner: body,
                read: Arc::clone(&read),
            });
            read
        });
        AnswerFuture {
            inner: self.inner.call(request),
            api,
            read,
        }
    }
}

pin_project! {
    /// The inner service's future; finishes its answer.
    #[derive(Debug)]
    pub struct AnswerFuture<F> {
        #[pin]
        inner: F,
        api: bool,
        // Set once the request's body was read to its end; `None` when it had none.
        read: Option<Arc<AtomicBool>>,
    }
}

impl<F, E> Future for AnswerFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let mut response = finish(response);
        let headers = response.headers_mut();
        if *this.api {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        let unread = this
            .read
            .as_ref()
            .is_some_and(|r| !r.load(Ordering::Acquire));
        if unread {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
    }
}

/// A request body that notes when it has been read to its end.
struct Watched {
    inner: Body,
    read: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Not among the `http` crate's constants; a `const`, so it is not parsed on each answer.
const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

/// The contract's error body for a client error without one, then the security headers.
fn finish(response: Response) -> Response {
    let mut response = contract_error(response);
    let headers = response.headers_mut();
    // The `http` crate's constants: a `&str` name would be parsed on every answer (3,300
    // instructions of each, callgrind).
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A page of another site that opened Sesame's (`window.open`) keeps no handle on it, so it
    // cannot later send that tab to a look-alike sign-in page (HTML Standard §7.1.3; OWASP
    // HTTP Headers Cheat Sheet).
    headers.insert(
        CROSS_ORIGIN_OPENER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
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
