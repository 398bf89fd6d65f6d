//! Every call of the contract (`shared/API.md`) is documented with its status codes, error
//! codes, body fields, session and **recent** requirements.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sesame_tests::{TestApp, harness::TestFn, tests};

use crate::{
    openapi::{document, is_recent, needs_session, resolve, response},
    openapi_contract_table::{
        answer_parts, contract_keys, contract_rows, contract_shapes, read_contract,
    },
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![every_call_of_the_contract_is_documented]
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
