//! Session extractors and cookie helpers.
//!
//! Cookie per contract: `sesame_session` (`__Host-sesame_session` with `Secure` on https
//! origins), `HttpOnly`, `SameSite=Lax`, `Path=/` (OWASP ASVS 5.0 V3.3).

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, HeaderValue, header, request::Parts},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::{
    error::ApiError,
    service::sessions::{self, Authenticated},
    state::AppState,
};

pub const COOKIE: &str = "sesame_session";
pub const SECURE_COOKIE: &str = "__Host-sesame_session";

/// The session token from the request's cookie, if any.
pub fn token_from(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(cookie_name)
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` for a newly issued token.
pub fn set_cookie(state: &AppState, token: String) -> Option<HeaderValue> {
    let cookie = Cookie::build((state.cookie_name, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(state.config.secure_cookies())
        .max_age(time::Duration::seconds(
            state.config.session_lifetime_secs as i64,
        ))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// `Set-Cookie` that removes the cookie.
pub fn clear_cookie(state: &AppState) -> Option<HeaderValue> {
    let cookie = Cookie::build((state.cookie_name, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(state.config.secure_cookies())
        .max_age(time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// A valid session, or 401 `unauthenticated`.
#[derive(Clone, Debug)]
pub struct CurrentSession(pub Authenticated);

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        <Self as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await?
            .ok_or(ApiError::Unauthenticated)
    }
}

impl OptionalFromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        let Some(token) = token_from(&parts.headers, state.cookie_name) else {
            return Ok(None);
        };
        let found = sessions::authenticate(
            state.read_side(),
            &state.writer,
            &state.config,
            &token,
            state.now(),
        )
        .await?;
        Ok(found.map(CurrentSession))
    }
}

/// A session that authenticated within the re-authentication window, else 403
/// `reauthentication_required` (NIST SP 800-63B rev 4 §2.2.3 re-authentication; OWASP ASVS
/// 5.0 V7.5 re-authentication before sensitive changes).
#[derive(Clone, Debug)]
pub struct RecentSession(pub Authenticated);

impl FromRequestParts<AppState> for RecentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentSession(auth) =
            <CurrentSession as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await?;
        if !sessions::is_recent(&state.config, &auth.session, state.now()) {
            return Err(ApiError::ReauthenticationRequired);
        }
        Ok(RecentSession(auth))
    }
}

/// Add a `Set-Cookie` header.
pub fn with_cookie(headers: &mut HeaderMap, value: Option<HeaderValue>) {
    if let Some(value) = value {
        headers.append(header::SET_COOKIE, value);
    }
}
