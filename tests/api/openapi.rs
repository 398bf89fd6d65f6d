//! `GET /api/v1/openapi.json` agrees with the contract (`shared/API.md`) and with the router:
//! every call of the contract is documented with its status codes, error codes, body fields,
//! session and **recent** requirements; every documented operation is routed; and the only
//! routes left out of the document are the web pages.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use reqwest::Method;
use serde_json::{Value, json};
use sesame_tests::{Browser, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        the_document_is_openapi_3_1_and_every_reference_resolves,
        every_call_of_the_contract_is_documented,
        every_documented_operation_is_routed,
        only_the_web_pages_are_undocumented,
    ]
}

/// The contract, beside the repository.
const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/API.md");

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

/// The methods a route can have that the probes use.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn document(app: &TestApp) -> Value {
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
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
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
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
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
fn auth_requirement(operation: &Value) -> Option<bool> {
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

fn needs_session(operation: &Value) -> bool {
    auth_requirement(operation) == Some(true)
        && operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r.get("sesame_session").is_some())
}

fn is_recent(operation: &Value) -> bool {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["sesame_session"].as_array())
        .flatten()
        .any(|role| role == "recent")
}

fn response(operation: &Value, status: u16) -> Option<&Value> {
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
        // Every error answer has the contract's body and names its error codes.
        for (status, answer) in responses {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            assert_eq!(
                answer["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{call} {status}: the error body is not ErrorBody"
            );
            let description = answer["description"].as_str().unwrap_or_default();
            assert!(
                description.contains('`'),
                "{call} {status}: the description names no error code: {description:?}"
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

/// One row of a table of the contract.
#[derive(Debug)]
struct Row {
    section: String,
    method: String,
    path: String,
    query: Vec<String>,
    body: Option<String>,
    answer: String,
}

impl Row {
    fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn read_contract() -> String {
    std::fs::read_to_string(CONTRACT).unwrap_or_else(|e| {
        panic!(
            "the HTTP contract is expected at {CONTRACT} (shared/API.md beside the repository) \
             but cannot be read: {e}"
        )
    })
}

/// Split a table row on `|` that are not escaped as `\|`.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().expect("a cell").push('|');
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
        .into_iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Every `| `METHOD /path` | … |` row of the contract's tables.
fn contract_rows(text: &str) -> Vec<Row> {
    let mut section = String::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_owned();
            continue;
        }
        if !line.starts_with("| `") {
            continue;
        }
        let cells = cells(line);
        let call = cells[0].trim_matches('`');
        let Some((method, target)) = call.split_once(' ') else {
            continue;
        };
        if !METHODS.contains(&method) {
            continue;
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (
                path,
                query
                    .split('&')
                    .map(|pair| pair.split('=').next().unwrap_or_default().to_owned())
                    .collect(),
            ),
            None => (target, Vec::new()),
        };
        let (body, answer) = match cells.len() {
            2 => (None, cells[1].clone()),
            3 => (
                Some(cells[1].trim_matches('`').to_owned()).filter(|b| b != "—"),
                cells[2].clone(),
            ),
            n => panic!("contract row with {n} cells: {line}"),
        };
        rows.push(Row {
            section: section.clone(),
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            body,
            answer,
        });
    }
    rows
}

/// The keys of a JSON-ish object in the contract (`{"a", "b"?, "c": Shape}`): name →
/// (optional, the shape named as its value).
fn contract_keys(text: &str) -> BTreeMap<String, (bool, Option<String>)> {
    let mut keys = BTreeMap::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '"' {
            i += 1;
            continue;
        }
        let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
            break;
        };
        let name: String = chars[i + 1..i + 1 + len].iter().collect();
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after = i + 2 + len;
        if matches!(before, Some('{') | Some(',')) {
            let optional = chars.get(after) == Some(&'?');
            let rest: String = chars[after..].iter().collect();
            let shape = rest.strip_prefix(':').map(str::trim_start).and_then(|r| {
                let word: String = r.chars().take_while(|c| c.is_alphanumeric()).collect();
                word.starts_with(char::is_uppercase).then_some(word)
            });
            keys.insert(name, (optional, shape));
        }
        i = after;
    }
    keys
}

/// The contract's "Shapes" list: name → its keys.
fn contract_shapes(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut bullets: Vec<String> = Vec::new();
    let mut in_shapes = false;
    for line in text.lines() {
        if line.starts_with("Shapes") {
            in_shapes = true;
            continue;
        }
        if !in_shapes {
            continue;
        }
        if let Some(bullet) = line.strip_prefix("- ") {
            bullets.push(bullet.to_owned());
        } else if line.starts_with("  ") && !bullets.is_empty() {
            let last = bullets.last_mut().expect("a bullet");
            last.push(' ');
            last.push_str(line.trim());
        } else if line.starts_with('#') || (line.trim().is_empty() && !bullets.is_empty()) {
            break;
        }
    }
    let mut shapes = BTreeMap::new();
    for bullet in bullets {
        let Some(rest) = bullet.strip_prefix('`') else {
            continue;
        };
        let Some((name, rest)) = rest.split_once('`') else {
            continue;
        };
        let Some(start) = rest.find('{') else {
            continue;
        };
        let Some(end) = rest[start..].find('}') else {
            continue;
        };
        let keys = contract_keys(&rest[start..=start + end])
            .into_keys()
            .collect();
        shapes.insert(name.to_owned(), keys);
    }
    shapes
}

/// The parts of a contract answer: `(status, Some(code))` for error codes, and the success
/// status with the body text that follows it.
fn answer_parts(answer: &str) -> (u16, Option<String>, Vec<(u16, String)>) {
    let success: u16 = answer
        .trim_start()
        .get(..3)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the answer does not start with a status: {answer}"));
    let parts: Vec<&str> = answer.split('`').collect();
    let mut errors = Vec::new();
    let mut success_body = None;
    for (i, inside) in parts.iter().enumerate().skip(1).step_by(2) {
        let before = parts[i - 1].trim_end();
        let status = before
            .get(before.len().saturating_sub(3)..)
            .and_then(|s| s.parse::<u16>().ok());
        let is_code =
            !inside.is_empty() && inside.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        match status {
            Some(status) if is_code => errors.push((status, (*inside).to_owned())),
            Some(status) if status == success && i == 1 => {
                success_body = Some((*inside).to_owned())
            }
            _ => {}
        }
    }
    (success, success_body, errors)
}

fn check_keys(
    doc: &Value,
    shapes: &BTreeMap<String, BTreeSet<String>>,
    what: &str,
    schema: &Value,
    text: &str,
) {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && shapes.contains_key(inner)
    {
        let schema = resolve(doc, schema);
        assert_eq!(schema["type"], "array", "{what}: not an array");
        return check_keys(doc, shapes, what, &schema["items"], inner);
    }
    if let Some(keys) = shapes.get(text) {
        let schema = resolve(doc, schema);
        for key in keys {
            assert!(
                schema["properties"].get(key).is_some(),
                "{what}: the {text} schema has no `{key}`: {schema}"
            );
        }
        return;
    }
    if text.starts_with('{') {
        let schema = resolve(doc, schema);
        for (key, (_, shape)) in contract_keys(text) {
            let property = schema["properties"]
                .get(&key)
                .unwrap_or_else(|| panic!("{what}: no `{key}` in {schema}"));
            if let Some(shape) = shape.filter(|s| shapes.contains_key(s)) {
                check_keys(doc, shapes, &format!("{what}.{key}"), property, &shape);
            }
        }
    }
}

async fn every_call_of_the_contract_is_documented(app: TestApp) {
    let doc = document(&app).await;
    let contract = read_contract();
    let rows = contract_rows(&contract);
    let shapes = contract_shapes(&contract);
    assert!(
        rows.len() >= 30,
        "only {} contract rows were found",
        rows.len()
    );
    for shape in ["Account", "Passkey", "Contact", "Session", "Event"] {
        assert!(shapes.contains_key(shape), "shape {shape} not found");
    }
    let mut missing = Vec::new();
    for row in &rows {
        let call = row.call();
        let Some(operation) = doc["paths"]
            .get(&row.path)
            .and_then(|item| item.get(row.method.to_ascii_lowercase()))
        else {
            missing.push(call);
            continue;
        };
        let (success, success_body, errors) = answer_parts(&row.answer);
        let answer = response(operation, success)
            .unwrap_or_else(|| panic!("{call}: the contract's {success} is not documented"));

        for (status, code) in &errors {
            let described = response(operation, *status)
                .and_then(|r| r["description"].as_str())
                .unwrap_or_else(|| panic!("{call}: the contract's {status} is not documented"));
            assert!(
                described.contains(&format!("`{code}`")),
                "{call}: the {status} answer does not name `{code}`: {described:?}"
            );
        }

        let recent = row.answer.contains("**recent**");
        assert_eq!(
            is_recent(operation),
            recent,
            "{call}: the contract says recent = {recent}; security: {}",
            operation["security"]
        );
        if recent {
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("**recent**"),
                "{call}: no **recent** marker in {description:?}"
            );
            let forbidden = response(operation, 403)
                .and_then(|r| r["description"].as_str())
                .unwrap_or_default();
            assert!(
                forbidden.contains("`reauthentication_required`"),
                "{call}: 403 `reauthentication_required` is not documented"
            );
        }
        if row.section.starts_with("Account") {
            assert!(
                needs_session(operation),
                "{call}: the contract needs the session cookie; security: {}",
                operation["security"]
            );
            let unauthenticated = response(operation, 401)
                .and_then(|r| r["description"].as_str())
                .unwrap_or_default();
            assert!(
                unauthenticated.contains("`unauthenticated`"),
                "{call}: 401 `unauthenticated` is not documented"
            );
        }
        if row.answer.contains("+ session") {
            assert!(
                answer["headers"].get("Set-Cookie").is_some(),
                "{call}: the session cookie (Set-Cookie) is not documented"
            );
        }

        for name in &row.query {
            let declared = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == name.as_str() && p["in"] == "query");
            assert!(
                declared,
                "{call}: query parameter `{name}` is not documented"
            );
        }

        if let Some(body) = &row.body {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{call}: no JSON request body documented"
            );
            let schema = resolve(&doc, schema);
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (key, (optional, _)) in contract_keys(body) {
                assert!(
                    schema["properties"].get(&key).is_some(),
                    "{call}: the request body has no `{key}`: {schema}"
                );
                assert_eq!(
                    !required.contains(&key.as_str()),
                    optional,
                    "{call}: `{key}` is {} in the contract",
                    if optional { "optional" } else { "required" }
                );
            }
        }

        if let Some(body) = success_body {
            let schema = &answer["content"]["application/json"]["schema"];
            if body.starts_with('{') || body.starts_with('[') || shapes.contains_key(&body) {
                assert!(schema.is_object(), "{call}: no JSON answer documented");
                check_keys(&doc, &shapes, &call, schema, &body);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "calls of the contract missing from the OpenAPI document: {missing:?}"
    );
}

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
