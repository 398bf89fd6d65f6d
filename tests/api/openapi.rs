//! `GET /api/v1/openapi.json` agrees with the contract (`shared/API.md`) and with the router:
//! every call of the contract is documented with its status codes, error codes, body fields,
//! session and **recent** requirements; every documented operation is routed; and the only
//! routes left out of the document are the web pages. This file checks the document itself;
//! the contract is checked in `openapi_contract.rs`, the router in `openapi_routes.rs`.

use std::collections::HashSet;

use serde_json::{Value, json};
use sesame_tests::{TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![the_document_is_openapi_3_1_and_every_reference_resolves]
}

/// The contract, beside the repository.
pub(crate) const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/API.md");

/// The methods a route can have that the probes use.
pub(crate) const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

pub(crate) async fn document(app: &TestApp) -> Value {
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "GET /api/v1/openapi.json: {}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "content type: {:?}",
        r.header("content-type")
    );
    serde_json::from_str(&r.text).expect("the OpenAPI document is valid JSON")
}

/// `(METHOD, path, operation)` for every operation of the document.
pub(crate) fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths").iter() {
        for (method, operation) in item.as_object().expect("path item") {
            let method = method.to_ascii_uppercase();
            if METHODS.contains(&method.as_str())
                || ["HEAD", "OPTIONS", "TRACE"].contains(&&*method)
            {
                found.push((method, path.clone(), operation.clone()));
            }
        }
    }
    found
}

/// Follow `$ref`s (and a nullable `oneOf`) to the schema that says something.
pub(crate) fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(reference) = schema["$ref"].as_str() {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {reference}"));
            schema = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {reference} does not resolve"));
        } else if let Some(choice) = schema["oneOf"]
            .as_array()
            .or_else(|| schema["allOf"].as_array())
            .and_then(|all| all.iter().find(|s| s["type"] != "null"))
        {
            schema = choice;
        } else {
            break;
        }
    }
    schema
}

/// Whether the operation needs credentials (the session cookie, or any other scheme):
/// `Some(true)` required, `Some(false)` optional, `None` not at all.
pub(crate) fn auth_requirement(operation: &Value) -> Option<bool> {
    let requirements = operation["security"].as_array()?;
    if requirements.is_empty() {
        return None;
    }
    Some(
        !requirements
            .iter()
            .any(|r| r.as_object().is_some_and(|o| o.is_empty())),
    )
}

pub(crate) fn needs_session(operation: &Value) -> bool {
    auth_requirement(operation) == Some(true)
        && operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r.get("sesame_session").is_some())
}

pub(crate) fn is_recent(operation: &Value) -> bool {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["sesame_session"].as_array())
        .flatten()
        .any(|role| role == "recent")
}

pub(crate) fn response(operation: &Value, status: u16) -> Option<&Value> {
    operation["responses"].get(status.to_string())
}

async fn the_document_is_openapi_3_1_and_every_reference_resolves(app: TestApp) {
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(version.starts_with("3.1"), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every `$ref` resolves inside the document (`#/components/schemas/X` and any other).
    let mut references = Vec::new();
    collect_refs(&doc, &mut references);
    assert!(!references.is_empty());
    for reference in &references {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("$ref {reference} points outside the document"));
        assert!(
            doc.pointer(pointer).is_some(),
            "$ref {reference} names nothing in the document"
        );
    }

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["sesame_session"]["type"], "apiKey");
    assert_eq!(schemes["sesame_session"]["in"], "cookie");
    assert_eq!(schemes["sesame_session"]["name"], "sesame_session");
    let error_body = &doc["components"]["schemas"]["ErrorBody"];
    assert!(error_body["properties"]["error"].is_object());
    assert!(error_body["properties"]["error_description"].is_object());
    assert_eq!(error_body["required"], json!(["error"]));

    let mut operation_ids = HashSet::new();
    for (method, path, operation) in operations(&doc) {
        let call = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            !id.is_empty() && operation_ids.insert(id.to_owned()),
            "{call}: operationId {id:?} is missing or not unique (set `operation_id = \"...\"`)"
        );
        assert!(
            operation["summary"].is_string(),
            "{call}: no summary (the handler's doc comment)"
        );
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for name in requirement.as_object().expect("requirement").keys() {
                assert!(
                    schemes.get(name).is_some(),
                    "{call}: security scheme {name} is not defined"
                );
            }
        }
        // Path parameters are declared.
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let declared = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path");
                assert!(declared, "{call}: path parameter {name} is not declared");
            }
        }
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.starts_with('3')),
            "{call}: no success answer"
        );
        // Every error answer has the contract's body, its `error` limited to the codes its
        // description names (each paragraph "`code`: when").
        for (status, answer) in responses {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let schema = &answer["content"]["application/json"]["schema"];
            assert_eq!(
                schema["allOf"][0]["$ref"], "#/components/schemas/ErrorBody",
                "{call} {status}: the error body is not ErrorBody: {schema}"
            );
            let codes: Vec<&str> = schema["allOf"][1]["properties"]["error"]["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                !codes.is_empty(),
                "{call} {status}: no error codes: {schema}"
            );
            let description = answer["description"].as_str().unwrap_or_default();
            let mut described: Vec<&str> = description
                .split("\n\n")
                .filter_map(|p| p.strip_prefix('`')?.split_once("`: "))
                .map(|(code, _)| code)
                .collect();
            described.sort_unstable();
            described.dedup();
            assert_eq!(
                codes, described,
                "{call} {status}: the codes against the description {description:?}"
            );
            // Text for a person on every error but `server_error` (API.md "Conventions").
            let requires_text = schema["allOf"][1]["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == "error_description"));
            assert_eq!(
                requires_text,
                !codes.contains(&"server_error"),
                "{call} {status}: error_description required unless server_error: {schema}"
            );
        }
        if path.starts_with("/api/") {
            for status in ["500", "503"] {
                assert!(responses.contains_key(status), "{call}: no {status}");
            }
        }
    }
}

fn collect_refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => collect_refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}
