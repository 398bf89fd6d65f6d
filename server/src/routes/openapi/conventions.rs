//! The conventions every route of a kind shares (see the `openapi` module documentation):
//! the error answers its session needs, its body, its method, the rate limit and the `/api/`
//! prefix give, each with the `ErrorBody` schema, and `Retry-After` on 429.

use std::collections::btree_map::Entry;

use axum::http::Method;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        AllOfBuilder, Content, HeaderBuilder, ObjectBuilder, Ref, RefOr, Schema, Type,
        path::Operation,
    },
};

use super::{RECENT, RECENT_MARKER, SESSION};
use crate::{error::ErrorBody, middleware::rate_limit};

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

pub(super) fn conventions(path: &str, method: &Method, operation: &mut Operation) {
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
            "the database or a delivery channel is down, password hashing is saturated, or the \
             request took too long; retry",
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
            let codes = error_codes(&response.description);
            response
                .content
                .entry("application/json".into())
                .or_insert_with(|| RefOr::T(Content::new(Some(error_body(codes)))));
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

/// `ErrorBody`, its `error` limited to `codes` when the answer names them, so a client (and
/// Schemathesis's schema check) knows exactly which codes a status can carry here; with
/// `error_description` required as text unless one of them is `server_error`, the one answer
/// without it (API.md "Conventions").
fn error_body(codes: Vec<&str>) -> RefOr<Schema> {
    let body = Ref::from_schema_name(ErrorBody::name());
    if codes.is_empty() {
        return RefOr::Ref(body);
    }
    let described = !codes.contains(&"server_error");
    let error = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes));
    let mut only = ObjectBuilder::new().property("error", error);
    if described {
        only = only
            .property(
                "error_description",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .required("error_description");
    }
    RefOr::T(Schema::AllOf(
        AllOfBuilder::new().item(body).item(only).build(),
    ))
}

/// The codes an answer's description names: each paragraph that [`add_error`] (or a route's
/// own `responses(…)`) begins with `` `code`: ``.
fn error_codes(description: &str) -> Vec<&str> {
    let mut codes: Vec<&str> = description
        .split("\n\n")
        .filter_map(|paragraph| paragraph.strip_prefix('`')?.split_once("`:"))
        .map(|(code, _)| code)
        .filter(|code| {
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
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
