//! The document agrees with the router: every documented operation is routed, and the only
//! routes left out of the document are the web pages.

use std::collections::{BTreeMap, HashSet};

use reqwest::Method;
use serde_json::{Value, json};
use sesame_tests::{Browser, TestApp, harness::TestFn, tests};

use crate::openapi::{METHODS, auth_requirement, document, operations};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        every_documented_operation_is_routed,
        only_the_web_pages_are_undocumented,
    ]
}

/// Routes registered with plain axum (no OpenAPI description): the web pages. Anything else
/// must be registered through `utoipa_axum::routes!` so that it is documented.
const UNDOCUMENTED: [&str; 6] = [
    "/",
    "/signup",
    "/login",
    "/account",
    "/recover",
    "/assets/{*path}",
];

/// `path` with every `{param}` replaced by a random UUID.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                uuid::Uuid::new_v4().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Send a request from a browser without a session; `body` sends `{}`.
async fn send(browser: &Browser, method: &str, path: &str, body: bool) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = browser
        .client
        .request(method, format!("{}{path}", browser.base));
    if body {
        request = request.json(&json!({}));
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let body =
        serde_json::from_str(&response.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, body)
}

async fn every_documented_operation_is_routed(mut app: TestApp) {
    // Configured so that no documented route says 404 by itself: with two origins the related
    // origins document is served; with a metrics token, `/metrics` on the main address.
    let second = format!("http://accounts.localhost:{}", app.port);
    app.config.origin.push(second);
    app.config.metrics_token = Some("a-metrics-token-for-the-openapi-test".into());
    app.restart().await;
    let doc = document(&app).await;
    let browser = app.new_browser();
    let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, path, _) in operations(&doc) {
        by_path.entry(path).or_default().push(method);
    }
    // A documented path answers 405 to every other method: it is routed (so a 404 from it is
    // the handler's, not the router's fallback), and has no method that is not documented.
    let mut routed = HashSet::new();
    for (path, methods) in &by_path {
        let target = concrete(path);
        for method in METHODS {
            if methods.iter().any(|m| m == method) {
                continue;
            }
            let (status, body) = send(&browser, method, &target, false).await;
            assert_eq!(
                status, 405,
                "{method} {path}: expected 405 (a routed path, another method), got {status} {body}"
            );
            routed.insert(path.clone());
        }
    }
    for (method, path, operation) in operations(&doc) {
        let call = format!("{method} {path}");
        let target = concrete(&path);
        let with_body = operation["requestBody"].is_object();
        let (status, body) = send(&browser, &method, &target, with_body).await;
        assert_ne!(
            status, 405,
            "{call}: 405, the router has no such method: {body}"
        );
        assert!(
            !(status == 404 && body["error"] == "not_found" && !routed.contains(&path)),
            "{call}: the router's fallback 404 (not routed?): {body}"
        );
        assert!(
            operation["responses"].get(status.to_string()).is_some(),
            "{call}: answered {status} {body} without credentials, which is not documented"
        );
        // Each error answer's schema names the codes it can carry; this one is among them.
        if status >= 400 {
            let codes = documented_codes(&operation, status);
            assert!(
                codes.iter().any(|c| body["error"] == c.as_str()),
                "{call}: answered {status} {body}; the document names {codes:?}"
            );
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "{call}: answered {status} {body} without text for a person"
            );
        }
        // The documented security is what the route does: without credentials, 401
        // `unauthenticated` exactly where they are required (an optional session may lead
        // either way).
        let unauthenticated = status == 401 && body["error"] == "unauthenticated";
        match auth_requirement(&operation) {
            Some(true) => assert!(
                unauthenticated,
                "{call}: documented as needing credentials, but answered {status} {body}"
            ),
            Some(false) => {}
            None => assert!(
                !unauthenticated,
                "{call}: answered 401 `unauthenticated` but documents no security requirement"
            ),
        }
    }
}

async fn only_the_web_pages_are_undocumented(app: TestApp) {
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    for documented in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
        assert!(
            paths.contains_key(documented),
            "{documented} is not documented"
        );
    }
    // The pages are served, and are not in the document.
    for (page, served) in [
        ("/", "/"),
        ("/signup", "/signup"),
        ("/login", "/login"),
        ("/account", "/account"),
        ("/recover", "/recover"),
        ("/assets/{*path}", "/assets/api.js"),
    ] {
        assert!(!paths.contains_key(page), "{page} is documented");
        let r = app.get(served).await;
        assert_eq!(r.status, 200, "GET {served}: {}", r.text);
        assert_ne!(r.error(), "not_found", "GET {served}");
    }
    // Every route registered with plain axum (`.route("…")`, which no OpenAPI description
    // accompanies) is a page, or is documented too (e.g. served on another listener).
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/src");
    let mut undocumented = Vec::new();
    for (file, text) in rust_files(std::path::Path::new(source)) {
        for call in [".route(", ".route_service(", ".nest_service("] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                let Some(literal) = rest.strip_prefix('"') else {
                    continue;
                };
                let path = &literal[..literal.find('"').unwrap_or(0)];
                if !UNDOCUMENTED.contains(&path) && !paths.contains_key(path) {
                    undocumented.push(format!("{file}: {call}\"{path}\""));
                }
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "routes registered without an OpenAPI description (register them with \
         `OpenApiRouter::routes(utoipa_axum::routes!(handler))` and a `#[utoipa::path]` on the \
         handler): {undocumented:?}"
    );
}

fn rust_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            files.push((path.display().to_string(), text));
        }
    }
    files
}

/// The error codes the document allows for `status` of `operation`: the `enum` of `error` in
/// the `allOf` that narrows `ErrorBody`.
fn documented_codes(operation: &Value, status: u16) -> Vec<String> {
    let schema =
        &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
    schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| part["properties"]["error"]["enum"].as_array())
        .flatten()
        .filter_map(|code| code.as_str().map(str::to_owned))
        .collect()
}
