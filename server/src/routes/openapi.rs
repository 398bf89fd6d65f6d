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

use std::{collections::btree_map::Entry, sync::LazyLock};

use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        Content, HeaderBuilder, InfoBuilder, LicenseBuilder, OpenApi, PathItem, Ref, RefOr, Schema,
        path::Operation,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        tag::TagBuilder,
    },
};
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{
    error::{ApiError, ErrorBody},
    middleware::rate_limit,
    state::AppState,
};

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

/// What an operation asks of the session cookie.
#[derive(Debug, Default, PartialEq, Eq)]
struct SessionNeeds {
    mentioned: bool,
    optional: bool,
    recent: bool,
}

fn session_needs(operation: &Operation) -> SessionNeeds {
    let mut needs = SessionNeeds::default();
    for requirement in operation.security.iter().flatten() {
        // `SecurityRequirement` keeps its map private; its JSON form is `{name: [roles]}`.
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(requirement) else {
            continue;
        };
        if map.is_empty() {
            needs.optional = true;
        }
        if let Some(roles) = map.get(SESSION) {
            needs.mentioned = true;
            needs.recent |= roles
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == RECENT));
        }
    }
    needs
}

fn conventions(path: &str, method: &Method, operation: &mut Operation) {
    let session = session_needs(operation);
    if session.mentioned && !session.optional {
        add_error(operation, 401, "unauthenticated", "no valid session cookie");
    }
    if session.recent {
        add_error(
            operation,
            403,
            "reauthentication_required",
            "the session has not (re-)authenticated recently enough (**recent**)",
        );
        let description = operation.description.get_or_insert_with(String::new);
        if !description.contains("**recent**") {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(RECENT_MARKER);
        }
    }
    if operation.request_body.is_some() {
        add_error(
            operation,
            400,
            "invalid_request",
            "malformed JSON, or a missing, unknown or bad field",
        );
        add_error(
            operation,
            413,
            "invalid_request",
            "the body is over the size limit",
        );
    }
    if crate::middleware::csrf::is_state_changing(method) {
        add_error(
            operation,
            403,
            "forbidden",
            "a cross-site request (an `Origin` that is not a configured origin, or \
             `Sec-Fetch-Site: cross-site`)",
        );
        add_error(
            operation,
            415,
            "invalid_request",
            "a body that is not JSON (`Content-Type: application/json`); a request without a \
             body needs no content type",
        );
    }
    if rate_limit::is_limited(method, path) {
        add_error(
            operation,
            429,
            "too_many_attempts",
            "over the per-IP rate limit; wait `Retry-After` seconds",
        );
    }
    if path.starts_with("/api/") {
        add_error(
            operation,
            503,
            "unavailable",
            "the database or a delivery channel is down, or the request took too long; retry",
        );
        add_error(
            operation,
            500,
            "server_error",
            "an internal error (no `error_description`; the detail goes to the log)",
        );
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if status.starts_with('4') || status.starts_with('5') {
            response
                .content
                .entry("application/json".into())
                .or_insert_with(|| RefOr::T(Content::new(Some(error_body()))));
        }
        if status == "429" && !response.headers.contains_key("Retry-After") {
            response.headers.insert(
                "Retry-After".into(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(u64::schema()))
                        .description(Some("Seconds to wait before trying again"))
                        .build(),
                ),
            );
        }
    }
}

fn error_body() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))
}

/// Add an error code to the answer for `status`: a new answer, or one more paragraph of its
/// description.
fn add_error(operation: &mut Operation, status: u16, code: &str, when: &str) {
    let line = format!("`{code}`: {when}");
    match operation.responses.responses.entry(status.to_string()) {
        Entry::Occupied(mut entry) => {
            if let RefOr::T(response) = entry.get_mut()
                && !response.description.contains(&line)
            {
                if !response.description.is_empty() {
                    response.description.push_str("\n\n");
                }
                response.description.push_str(&line);
            }
        }
        Entry::Vacant(entry) => {
            entry.insert(RefOr::T(utoipa::openapi::Response::new(line)));
        }
    }
}
