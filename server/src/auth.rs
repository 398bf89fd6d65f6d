//! Session extractors and cookie helpers.
//!
//! Cookie per contract: `sesame_session` (`__Host-sesame_session` with `Secure` on https
//! origins), `HttpOnly`, `SameSite=Lax`, `Path=/` (OWASP ASVS 5.0 V3.3).

use std::borrow::Cow;

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, HeaderName, HeaderValue, header, request::Parts},
};
use axum_extra::extract::cookie::{Cookie, SameSite};

use uuid::Uuid;

use crate::{
    error::ApiError,
    service::{
        known_device,
        sessions::{self, Authenticated, Issued},
    },
    state::AppState,
};

pub const COOKIE: &str = "sesame_session";
pub const SECURE_COOKIE: &str = "__Host-sesame_session";

/// The session token from the request's cookie, if any. When the name appears more than once,
/// the last one counts, as in axum-extra's `CookieJar`; the other cookies are only split, not
/// copied (a jar would copy every cookie of the header into a set on every session check).
pub fn token_from<'h>(headers: &'h HeaderMap, cookie_name: &str) -> Option<Cow<'h, str>> {
    cookies_named(headers, cookie_name).last()
}

/// The values of every cookie called `cookie_name` in the request, in order: names and values
/// as sent, not percent-decoded. A decoded name would let a sibling domain plant
/// `__%48ost-sesame_session`, which browsers take for a name without the prefix and so let a
/// sibling set, and have it read as `__Host-sesame_session`: the prefix's whole point
/// (RFC 6265bis §4.1.3.2) is that only this host can set that name. Sesame's own values
/// (base64url) have nothing to decode.
fn cookies_named<'h>(
    headers: &'h HeaderMap,
    cookie_name: &str,
) -> impl Iterator<Item = Cow<'h, str>> {
    headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == cookie_name)
        .map(|cookie| {
            cookie
                .value_raw()
                .map_or_else(|| Cow::Owned(cookie.value().to_owned()), Cow::Borrowed)
        })
}

/// The identity headers of the session check and the forward-auth answer, for the reverse
/// proxy to pass on to the app behind it. Static names: a `&str` name is parsed and checked on
/// every insert (about 1,300 instructions of each session check, callgrind).
static X_SESAME_USER: HeaderName = HeaderName::from_static("x-sesame-user");
static X_SESAME_ACCOUNT_ID: HeaderName = HeaderName::from_static("x-sesame-account-id");

/// Add `X-Sesame-User` and `X-Sesame-Account-Id` for `account`. A username is validated at
/// sign-up to characters a header can carry; one that cannot is a server fault, not a client's.
pub fn identity_headers(
    headers: &mut HeaderMap,
    account: &entity::account::Model,
) -> Result<(), ApiError> {
    let user = HeaderValue::from_str(&account.username)
        .map_err(|_| ApiError::Internal("username header".into()))?;
    headers.insert(X_SESAME_USER.clone(), user);
    let mut id = uuid::Uuid::encode_buffer();
    let id = account.id.hyphenated().encode_lower(&mut id);
    // Hex digits and hyphens: always a valid value.
    if let Ok(id) = HeaderValue::from_str(id) {
        headers.insert(X_SESAME_ACCOUNT_ID.clone(), id);
    }
    Ok(())
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

/// The cookies of a log-in: the new session, and the known-device cookie that lets this
/// browser ask for log-in codes when others have used up the account's sends
/// (`service::known_device`), under the device generation the log-in's transaction read
/// (`Issued::device_generation`).
pub fn signed_in(state: &AppState, headers: &mut HeaderMap, issued: Issued, account_id: Uuid) {
    with_cookie(headers, set_cookie(state, issued.token));
    let device = known_device_cookie(state, account_id, issued.device_generation);
    with_cookie(headers, device);
}

/// `Set-Cookie` of a known-device cookie for `account_id` under `generation`: set by every
/// log-in, and again for the browser that made a change which forgot the account's other
/// devices (it stays known).
fn known_device_cookie(state: &AppState, account_id: Uuid, generation: i32) -> Option<HeaderValue> {
    let device = known_device::issue(&state.key, account_id, generation, state.now());
    let cookie = Cookie::build((known_device::cookie_name(state), device))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(known_device::COOKIE_PATH)
        .secure(state.config.secure_cookies())
        .max_age(time::Duration::milliseconds(known_device::LIFETIME_MS))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// After a change that forgot the account's other devices (it ended their sessions,
/// `service::account_sessions::revoke_other_sessions`): a known-device cookie under the
/// account's new generation for the browser that made it, which stays known. The generation
/// is read after the change committed, then the browser's session is checked: every other
/// browser's forget ends this session too, so if the session is still there no forget but
/// this browser's own came before the check, and one after it raises the generation past the
/// cookie's. No cookie when the session has ended, or when a read fails: the change went
/// through, and the answer says so (the browser is known again from its next log-in).
pub async fn still_known(state: &AppState, auth: &Authenticated) -> HeaderMap {
    let (account_id, session_id) = (auth.account.id, auth.session.id);
    let read = async {
        let generation = crate::store::devices::generation(&state.reads, account_id).await?;
        let lives = crate::store::sessions::exists(&state.reads, account_id, session_id).await?;
        Ok::<_, sea_orm::DbErr>(lives.then_some(generation))
    };
    let mut headers = HeaderMap::new();
    match read.await {
        Ok(Some(generation)) => with_cookie(
            &mut headers,
            known_device_cookie(state, account_id, generation),
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "known-device cookie not renewed"),
    }
    headers
}

/// Whether the request carries a known-device cookie for `account_id` under its current
/// `generation` (any of the first [`KNOWN_DEVICE_COOKIES`] of that name: one planted by a
/// sibling domain cannot hide the owner's, and a request packed with them costs no more than
/// that many checks).
pub fn is_known_device(
    state: &AppState,
    headers: &HeaderMap,
    account_id: Uuid,
    generation: i32,
) -> bool {
    let now = state.now();
    cookies_named(headers, known_device::cookie_name(state))
        .take(KNOWN_DEVICE_COOKIES)
        .fold(false, |known, value| {
            // Every one checked, not only up to the first that proves it: the time is the
            // same for an account and for a nil id.
            known_device::proves(&state.key, &value, account_id, generation, now) | known
        })
}

/// How many `sesame_device` cookies of one request are checked.
const KNOWN_DEVICE_COOKIES: usize = 4;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_lines: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in cookie_lines {
            map.append(header::COOKIE, HeaderValue::from_static(line));
        }
        map
    }

    #[test]
    fn the_token_is_found_among_other_cookies_and_lines() {
        let h = headers(&["theme=dark; sesame_session=abc-_123", "lang=en"]);
        assert_eq!(token_from(&h, COOKIE).as_deref(), Some("abc-_123"));
        let h = headers(&["theme=dark", "__Host-sesame_session=xyz; lang=en"]);
        assert_eq!(token_from(&h, SECURE_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(token_from(&h, COOKIE), None);
        assert_eq!(token_from(&headers(&[]), COOKIE), None);
        assert_eq!(token_from(&headers(&["garbage;;=;"]), COOKIE), None);
    }

    #[test]
    fn the_token_is_what_axum_extras_cookie_jar_would_give_without_decoding() {
        for lines in [
            &["sesame_session=first; sesame_session=second"][..],
            &["sesame_session=first", "sesame_session=second"],
            &["sesame_session=\"quoted\""],
            &[" sesame_session = spaced ; x=1"],
            &["sesame_session="],
            &["x=1"],
        ] {
            let h = headers(lines);
            let jar = axum_extra::extract::cookie::CookieJar::from_headers(&h);
            let expected = jar.get(COOKIE).map(|c| c.value().to_owned());
            assert_eq!(
                token_from(&h, COOKIE).as_deref(),
                expected.as_deref(),
                "{lines:?}"
            );
        }
        let h = headers(&["sesame_session=first; sesame_session=a%2Bb"]);
        assert_eq!(token_from(&h, COOKIE).as_deref(), Some("a%2Bb"));
    }

    #[test]
    fn a_percent_encoded_name_is_not_the_prefixed_cookie() {
        // A sibling domain may set `__%48ost-…` (not a `__Host-` name to a browser).
        let h = headers(&["__Host-sesame_session=mine; __%48ost-sesame_session=planted"]);
        assert_eq!(token_from(&h, SECURE_COOKIE).as_deref(), Some("mine"));
        let h = headers(&["__%48ost-sesame_session=planted"]);
        assert_eq!(token_from(&h, SECURE_COOKIE), None);
        let h = headers(&["sesame%5Fsession=planted; %73esame_session=planted"]);
        assert_eq!(token_from(&h, COOKIE), None);
    }
}
