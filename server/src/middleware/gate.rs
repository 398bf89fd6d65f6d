//! A check on the request head that either lets a request through or refuses it: the per-IP
//! rate limit and the CSRF check are both [`Gate`]s.
//!
//! A plain tower service: a request that passes costs no allocation, its future is the inner
//! one's. `axum::middleware::from_fn`, which these checks used before, boxed a clone of the
//! service below it and its future on every request (docs/performance-history.md, item 25). Only a
//! refusal, which reads and drops the rest of the body first ([`super::refuse`]), is boxed.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{extract::Request, response::Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::ApiError;

/// What a gate checks, on the request head only.
pub trait Gate: Clone {
    /// Why `request` is refused, if it is.
    fn refusal(&self, request: &Request) -> Option<ApiError>;
}

/// The layer of [`Gated`].
#[derive(Clone, Debug)]
pub struct GateLayer<G>(pub G);

impl<G: Clone, S> Layer<S> for GateLayer<G> {
    type Service = Gated<G, S>;
    fn layer(&self, inner: S) -> Gated<G, S> {
        Gated {
            gate: self.0.clone(),
            inner,
        }
    }
}

/// The inner service behind a [`Gate`].
#[derive(Clone, Debug)]
pub struct Gated<G, S> {
    gate: G,
    inner: S,
}

impl<G, S> Service<Request> for Gated<G, S>
where
    G: Gate,
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.gate.refusal(&request) {
            None => GateFuture::Passed {
                inner: self.inner.call(request),
            },
            Some(error) => GateFuture::Refused {
                refusal: Box::pin(super::refuse(request, error)),
            },
        }
    }
}

pin_project! {
    /// The inner service's future, or the refusal.
    #[project = GateProjection]
    pub enum GateFuture<F> {
        Passed { #[pin] inner: F },
        Refused { refusal: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F, E> Future for GateFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProjection::Passed { inner } => inner.poll(cx),
            GateProjection::Refused { refusal } => refusal.as_mut().poll(cx).map(Ok),
        }
    }
}
