//! `GET /api/v1/forward-auth`: the check a reverse proxy makes before it lets a request through
//! to another app (Caddy `forward_auth`, Traefik `forwardAuth`, and nginx's log-in redirect; see
//! docs/DEPLOY.md). Like `GET /api/v1/session` (whose contract is unchanged) it answers 200 with
//! `X-Sesame-User` / `X-Sesame-Account-Id` for a valid session; without one it sends the browser
//! to the log-in page with a *checked* `return_to` (`service::return_to`): the address the
//! person asked for, from the proxy's `X-Forwarded-Proto` / `X-Forwarded-Host` /
//! `X-Forwarded-Uri` headers or, without them, from `?return_to=`.

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use super::routes;
use uuid::Uuid;

use crate::{
    auth::CurrentSession,
    error::{ApiError, ApiResult},
    service::return_to,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forward_auth))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForwardAuthQuery {
    /// Where to come back to after logging in: a path on this origin, or an address on one of
    /// the configured origins. Used only without the proxy's `X-Forwarded-Uri`, which wins.
    pub return_to: Option<String>,
}

/// Who is logged in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ForwardAuthBody {
    pub account_id: Uuid,
    pub username: String,
}

/// The reverse proxy's check
///
/// 200 with the identity headers for a valid session. Without one: 302 to the log-in page
/// (which comes back to the checked `return_to` afterwards) when a return address is known,
/// else 401 `unauthenticated`.
#[utoipa::path(
    get,
    path = "/forward-auth",
    tag = "login",
    params(ForwardAuthQuery),
    security((), ("sesame_session" = [])),
    responses(
        (status = 200, description = "The session is valid", body = ForwardAuthBody,
            headers(
                ("X-Sesame-User" = String, description = "The account's username"),
                ("X-Sesame-Account-Id" = uuid::Uuid, description = "The account's id"),
            )),
        (status = 302, description = "No valid session: to the log-in page, which returns to \
            the checked address",
            headers(("Location" = String, description = "`/login?return_to=…` on the target's origin"))),
        (status = 400, description = "`invalid_request`: `return_to` is not a path on this site \
            or an address on a configured origin"),
        (status = 401, description = "`unauthenticated`: no valid session and no return address"),
    ),
)]
async fn forward_auth(
    State(state): State<AppState>,
    current: Option<CurrentSession>,
    Query(query): Query<ForwardAuthQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(CurrentSession(auth)) = current {
        let mut response = Json(ForwardAuthBody {
            account_id: auth.account.id,
            username: auth.account.username.clone(),
        })
        .into_response();
        crate::auth::identity_headers(response.headers_mut(), &auth.account)?;
        return Ok(response);
    }
    // The proxy's headers first: Caddy's `forward_auth` also passes the protected app's own
    // query on (caddyserver/caddy#6795), and a `return_to` of the app's is not Sesame's.
    let Some(raw) = forwarded_address(&headers).or(query.return_to) else {
        return Err(ApiError::Unauthenticated);
    };
    let origins = state
        .config
        .origins()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let target = return_to::check(&raw, &origins).ok_or_else(|| {
        tracing::debug!("forward-auth return address refused");
        ApiError::InvalidRequest(
            "return_to must be a path on this site or an address on a configured origin".into(),
        )
    })?;
    let location = HeaderValue::from_str(&target.login_url())
        .map_err(|_| ApiError::Internal("login location".into()))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// The address the proxy was asked for: `X-Forwarded-Uri`, made absolute with
/// `X-Forwarded-Proto` and `X-Forwarded-Host` when the proxy sends them. Spoofed headers can
/// only name another configured origin: the result is checked like any `return_to`.
fn forwarded_address(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let uri = get("x-forwarded-uri")?;
    Some(match get("x-forwarded-host") {
        Some(host) => {
            let proto = get("x-forwarded-proto").unwrap_or("https");
            format!("{proto}://{host}{uri}")
        }
        None => uri.to_owned(),
    })
}
