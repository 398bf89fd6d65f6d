//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated from the
//! handlers' `#[utoipa::path]` attributes (`routes::api()` registers every route together with
//! its documentation through `utoipa_axum::routes!`).
//!
//! A handler documents what is its own: the request body, the success answer and the errors
//! only it gives (`description` = "`code`: when"). [`finish`] adds what the contract's
//! conventions (and the middleware) give every route of a kind, so that it is said the same way
//! everywhere:
//! - `security(("sesame_session" = []))` → 401 `unauthenticated`;
//!   `security(("sesame_session" = ["recent"]))` → also 403 `reauthentication_required` and the
//!   **recent** marker in the description; `security((), ("sesame_session" = []))` → the
//!   session is optional (a log-in with one is a re-authentication);
//! - a request body → 400 and 413 `invalid_request`;
//! - POST, PUT, PATCH, DELETE → 403 `forbidden` (the cross-site check) and 415 `invalid_request`;
//! - a POST the per-IP rate limit covers → 429 `too_many_attempts` with `Retry-After`;
//! - every `/api/` operation → 500 `server_error` and 503 `unavailable`;
//! - every 4xx/5xx answer → the `ErrorBody` schema.

mod conventions;

use std::sync::LazyLock;

use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        InfoBuilder, LicenseBuilder, OpenApi, PathItem,
        path::Operation,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        tag::TagBuilder,
    },
};
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{
    error::{ApiError, ErrorBody},
    state::AppState,
};
use conventions::conventions;

/// The security scheme's name: the session cookie (`__Host-sesame_session` on https).
pub const SESSION: &str = "sesame_session";
/// The bearer token `/metrics` asks for (`SESAME_METRICS_TOKEN`).
pub const METRICS_TOKEN: &str = "metrics_token";
/// The role a **recent** call asks of the session: (re-)authenticated within the window.
pub const RECENT: &str = "recent";

/// The sentence every **recent** operation's description carries.
pub const RECENT_MARKER: &str = "**recent**: the session must have (re-)authenticated within \
    the configured window (default 10 minutes); otherwise 403 `reauthentication_required`.";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The document, built once from the same routes the server serves.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| super::openapi().to_json().map_err(|e| e.to_string()));

/// This OpenAPI document
///
/// Generated from the code; it agrees with the HTTP contract (`API.md`).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value,
            content_type = "application/json"),
    ),
)]
async fn openapi_json() -> Result<Response, ApiError> {
    let text = DOCUMENT
        .as_ref()
        .map_err(|e| ApiError::Internal(e.clone()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text.clone(),
    )
        .into_response())
}

/// Complete the generated document: title, the session's security scheme, tags, and the
/// conventions every route of a kind shares (see the module documentation).
pub fn finish(api: &mut OpenApi) {
    api.info = InfoBuilder::new()
        .title("Sesame")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A passkey-first identity server. Errors use the OAuth 2.0 shape (RFC 6749 §5.2): \
             `{\"error\": \"<code>\", \"error_description\": \"<text>\"}`; each error answer \
             names the codes it can carry. Time stamps are RFC 3339 UTC strings; ids are UUIDs.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION,
            "The session cookie a log-in sets (`__Host-sesame_session` when the origin is \
             https). The role `recent` means the session must have (re-)authenticated within \
             the configured window (default 10 minutes).",
        ))),
    );
    components.add_security_scheme(
        METRICS_TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("`SESAME_METRICS_TOKEN`, for `/metrics`"))
                .build(),
        ),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    api.tags = Some(
        [
            ("health", "Liveness and readiness"),
            ("signup", "Sign-up with a passkey or a one-time code"),
            ("login", "Log-in, log-out and the session check"),
            ("account", "The account (needs the session cookie)"),
            ("passkeys", "The account's passkeys"),
            ("factors", "TOTP, contacts, recovery codes and the password"),
            ("sessions", "The account's sessions"),
            ("events", "The account's security activity"),
            ("meta", "This document and the WebAuthn related origins"),
        ]
        .into_iter()
        .map(|(name, description)| {
            TagBuilder::new()
                .name(name)
                .description(Some(description))
                .build()
        })
        .collect(),
    );
    for (path, item) in api.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            conventions(path, &method, operation);
        }
    }
}

/// The operations of a path item with their methods.
pub fn operations_mut(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|o| (method, o)))
    .collect()
}
