//! Hardening layers around the router (contract "Conventions"; docs/SECURITY.md has the threat
//! model): per-IP rate limits on the public endpoints, the cross-site request check, the
//! per-request time limit and HSTS. [`serve`] runs the router on hyper with the connection-level
//! limits that `axum::serve` does not expose (a header read timeout against slow clients).
//!
//! Order, outermost first (`startup::app_router` stacks every layer): panic catcher →
//! [`answer`] (the contract's error bodies, the security headers) → HSTS → request timeout →
//! per-IP rate limit → CSRF check → body limit → handlers. The rate limit and the CSRF check
//! look only at the request head, so a refused request costs no database work and no body
//! read.

pub mod answer;
pub mod csrf;
pub mod gate;
pub mod rate_limit;
pub mod serve;
pub mod timeout;

use axum::{
    body::to_bytes,
    extract::Request,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{config::Config, error::ApiError, startup::BODY_LIMIT};

/// `Strict-Transport-Security` for https origins: two years, subdomains included (OWASP ASVS
/// 5.0 V3.4.1; the value hstspreload.org asks for, minus `preload`, which is the operator's call).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The `Strict-Transport-Security` layer, when the origins are https (`Config::secure_cookies`).
pub fn hsts(config: &Config) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    config.secure_cookies().then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )
    })
}

/// Answer `error` to a request refused before its handler ran, after reading (and dropping)
/// what is left of its body, up to the body limit. Otherwise hyper closes the connection with
/// the body's bytes still arriving, the kernel answers them with a reset, and the client may
/// never see the refusal.
pub async fn refuse(request: Request, error: ApiError) -> Response {
    let _ = to_bytes(request.into_body(), BODY_LIMIT).await;
    error.into_response()
}
