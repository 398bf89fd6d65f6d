//! Cross-site request forgery defence for state-changing requests (POST, PUT, PATCH, DELETE),
//! with no token to manage (OWASP ASVS 5.0 V3.5.1/V3.5.2; OWASP CSRF cheat sheet "verifying
//! origin with standard headers" and "Fetch Metadata"):
//!
//! 1. With an `Origin` header, it must be one of the configured origins (`SESAME_ORIGIN`),
//!    byte for byte as browsers serialise it; anything else, `null` included, is 403 `forbidden`.
//! 2. Without `Origin`, a browser's `Sec-Fetch-Site: cross-site` is 403 too; a request with
//!    neither header comes from a non-browser client (curl, an app), which carries no ambient
//!    cookie of a victim and passes.
//! 3. A request that carries a body must say it is JSON (415, as `ApiJson` also answers), so
//!    no HTML form (`application/x-www-form-urlencoded`, `multipart/form-data`, `text/plain`)
//!    can reach a handler even on an endpoint that ignores its body.
//!
//! Cookies are `SameSite=Lax` besides (see `auth`). tower-http's `CsrfLayer` also accepts an
//! `Origin` that matches the `Host` header, which a DNS-rebinding page controls; Sesame's origins
//! are fixed by configuration (WebAuthn needs them anyway), so only those are accepted.

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{HeaderMap, Method, header},
};

use crate::{config::Config, error::ApiError};

/// The configured origins as browsers send them in `Origin` (`scheme://host[:port]`).
#[derive(Clone, Debug)]
pub struct AllowedOrigins(Arc<Vec<String>>);

impl AllowedOrigins {
    pub fn from_config(config: &Config) -> Self {
        let origins = config
            .origins()
            .unwrap_or_default()
            .iter()
            .map(|url| url.origin().ascii_serialization())
            .collect();
        Self(Arc::new(origins))
    }

    pub fn contains(&self, origin: &[u8]) -> bool {
        self.0.iter().any(|o| o.as_bytes() == origin)
    }
}

/// Whether the method can change state (RFC 9110 §9.2.1: the others are safe).
pub fn is_state_changing(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Why a request is refused, if it is.
pub fn refusal(allowed: &AllowedOrigins, method: &Method, headers: &HeaderMap) -> Option<ApiError> {
    if !is_state_changing(method) {
        return None;
    }
    match headers.get(header::ORIGIN) {
        Some(origin) if !allowed.contains(origin.as_bytes()) => {
            return Some(ApiError::Forbidden(
                "cross-origin requests are not allowed".into(),
            ));
        }
        Some(_) => {}
        None => {
            let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
            if fetch_site == Some(b"cross-site") {
                return Some(ApiError::Forbidden(
                    "cross-site requests are not allowed".into(),
                ));
            }
        }
    }
    if has_body(headers) && !declares_json(headers) {
        return Some(ApiError::UnsupportedMediaType);
    }
    None
}

/// A body is announced by a non-zero `Content-Length` or by `Transfer-Encoding`.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// `application/json` or `application/*+json`, parameters allowed (as `ApiJson` reads it).
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl super::gate::Gate for AllowedOrigins {
    fn refusal(&self, request: &Request) -> Option<ApiError> {
        let refused = refusal(self, request.method(), request.headers());
        if refused.is_some() {
            tracing::debug!(
                method = %request.method(),
                path = request.uri().path(),
                "cross-site or non-JSON state-changing request refused"
            );
        }
        refused
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn allowed() -> AllowedOrigins {
        AllowedOrigins(Arc::new(vec![
            "https://id.example.com".into(),
            "https://example.com".into(),
        ]))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn configured_origins_and_clients_without_origin_pass() {
        for h in [
            headers(&[("origin", "https://example.com")]),
            headers(&[
                ("origin", "https://id.example.com"),
                ("sec-fetch-site", "same-site"),
            ]),
            headers(&[]),
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[
                ("content-type", "application/json"),
                ("content-length", "2"),
            ]),
        ] {
            assert!(refusal(&allowed(), &Method::POST, &h).is_none(), "{h:?}");
        }
    }

    #[test]
    fn foreign_origins_and_cross_site_requests_are_forbidden() {
        for h in [
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "https://example.com.evil.example")]),
            headers(&[("origin", "http://example.com")]),
            headers(&[("sec-fetch-site", "cross-site")]),
        ] {
            let refused = refusal(&allowed(), &Method::DELETE, &h);
            assert!(matches!(refused, Some(ApiError::Forbidden(_))), "{h:?}");
        }
        let safe = headers(&[("origin", "https://evil.example")]);
        assert!(refusal(&allowed(), &Method::GET, &safe).is_none());
    }

    #[test]
    fn a_form_body_is_refused_with_415() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let mut h = headers(&[("content-length", "5")]);
            h.insert("content-type", HeaderValue::from_static(ct));
            let refused = refusal(&allowed(), &Method::POST, &h);
            assert!(
                matches!(refused, Some(ApiError::UnsupportedMediaType)),
                "{ct}"
            );
        }
        let json = headers(&[
            ("content-type", "application/merge-patch+json"),
            ("transfer-encoding", "chunked"),
        ]);
        assert!(refusal(&allowed(), &Method::PATCH, &json).is_none());
    }
}
