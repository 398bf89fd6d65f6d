//! `GET /metrics`, the Prometheus scrape endpoint, served one of two ways:
//!
//! * `SESAME_METRICS_LISTEN=127.0.0.1:9090`: on that separate address only (bind it where only
//!   the scraper reaches it); `SESAME_METRICS_TOKEN`, when also set, is required there too.
//! * `SESAME_METRICS_TOKEN` alone: on the main address, with `Authorization: Bearer <token>`.
//!
//! With neither, `/metrics` answers 404: the series tell how many people log in and fail,
//! which is not for everyone to read. (On the main address the route always exists, so that it
//! is registered and documented like every other, and says 404 itself.)

use std::net::SocketAddr;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};
use tokio::{net::TcpListener, task::JoinHandle};
use utoipa_axum::router::OpenApiRouter;

use crate::{config::Config, error::ApiError, routes::routes, state::AppState};

/// The Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` for the main router (documented in the OpenAPI document, `routes::api`): it
/// serves only when a token protects it and no separate listener is configured, else 404.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(main_scrape))
}

/// Prometheus metrics
///
/// Served on the main address only when `SESAME_METRICS_TOKEN` is set and
/// `SESAME_METRICS_LISTEN` is not (with `SESAME_METRICS_LISTEN`, on that address only); it
/// needs `Authorization: Bearer <SESAME_METRICS_TOKEN>`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "The Prometheus text format (0.0.4)", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 401, description = "`unauthenticated`: no or a wrong bearer token",
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"metrics\"`"))),
        (status = 404, description = "`not_found`: metrics are not served on this address"),
    ),
)]
async fn main_scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics_listen.is_some() || state.config.metrics_token.is_none() {
        return ApiError::NotFound.into_response();
    }
    scrape(State(state), headers).await
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token
        && !bearer_matches(&headers, token)
    {
        let mut response = ApiError::Unauthenticated.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    let body = super::metrics::render(&state.db);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

/// `Authorization: Bearer <token>`, compared through SHA-256 digests so the time taken does not
/// depend on how much of the token matched.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let given = Sha256::digest(given.trim().as_bytes());
    let expected = Sha256::digest(token.trim().as_bytes());
    given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// The separate metrics listener (`SESAME_METRICS_LISTEN`), bound at build time so a taken
/// port stops start-up.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
}

impl MetricsListener {
    /// Bind the configured address, if any; the error names the address.
    pub async fn bind(config: &Config) -> Result<Option<Self>, (String, std::io::Error)> {
        let Some(addr) = &config.metrics_listen else {
            return Ok(None);
        };
        let addr: SocketAddr = addr.parse().map_err(|_| {
            (
                addr.clone(),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not host:port"),
            )
        })?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| (addr.to_string(), e))?;
        Ok(Some(Self { listener }))
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serve `/metrics` (and nothing else) in a task; abort the task to stop.
    pub fn spawn(self, state: AppState) -> JoinHandle<()> {
        let router = Router::new()
            .route("/metrics", get(scrape))
            .fallback(|| async { ApiError::NotFound })
            .with_state(state);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(self.listener, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        })
    }
}
