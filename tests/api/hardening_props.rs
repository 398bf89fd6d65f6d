//! A property: no request body, however malformed, yields a 5xx; every refusal carries the
//! contract's error body. For each route that takes a body (POST, PUT, PATCH), proptest sends
//! random bytes, random JSON values, and the route's own well-formed body (with a live
//! ceremony and a real credential where it has them) with fields replaced by random values of
//! any type, removed, or added — under random content types — against a running server with a
//! logged-in, recently authenticated browser. `SESAME_PROPTEST_CASES` sets the number of cases.

use std::sync::{Arc, Mutex};

use proptest::{
    prelude::*,
    sample::Index,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde_json::{Value, json};
use sesame_tests::{Browser, SoftAuthenticator, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![no_request_body_however_malformed_yields_a_5xx]
}

/// The routes that read a body, with how their well-formed body is made.
const ROUTES: &[(&str, &str, Template)] = &[
    (
        "POST",
        "/api/v1/signup/passkey/start",
        Template::Static(r#"{"username": "prop-user", "display_name": "Prop"}"#),
    ),
    (
        "POST",
        "/api/v1/signup/passkey/finish",
        Template::SignupFinish,
    ),
    (
        "POST",
        "/api/v1/signup/code/start",
        Template::Static(
            r#"{"username": "prop-code", "channel": "email", "address": "prop@example.com"}"#,
        ),
    ),
    (
        "POST",
        "/api/v1/signup/code/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/login/passkey/start",
        Template::Static(r#"{"username": "alice"}"#),
    ),
    (
        "POST",
        "/api/v1/login/passkey/finish",
        Template::LoginFinish,
    ),
    (
        "POST",
        "/api/v1/login/code/start",
        Template::Static(r#"{"username": "alice", "method": "totp"}"#),
    ),
    (
        "POST",
        "/api/v1/login/code/finish",
        Template::Static(
            r#"{"ceremony": "CEREMONY", "code": "123456", "password": "hunter2 hunter2"}"#,
        ),
    ),
    (
        "POST",
        "/api/v1/account/passkeys/start",
        Template::Static("{}"),
    ),
    (
        "POST",
        "/api/v1/account/passkeys/finish",
        Template::AddPasskeyFinish,
    ),
    (
        "PATCH",
        "/api/v1/account/passkeys/PASSKEY",
        Template::Static(r#"{"label": "Laptop"}"#),
    ),
    ("POST", "/api/v1/account/totp/start", Template::Static("{}")),
    (
        "POST",
        "/api/v1/account/totp/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/account/contacts/start",
        Template::Static(r#"{"channel": "email", "address": "alice.prop@example.com"}"#),
    ),
    (
        "POST",
        "/api/v1/account/contacts/finish",
        Template::Static(r#"{"ceremony": "CEREMONY", "code": "123456"}"#),
    ),
    (
        "POST",
        "/api/v1/account/recovery-codes",
        Template::Static("{}"),
    ),
    (
        "PUT",
        "/api/v1/account/password",
        Template::Static(r#"{"password": "correct horse battery staple"}"#),
    ),
];

#[derive(Clone, Copy, Debug)]
enum Template {
    /// This JSON, with `CEREMONY` a random UUID and `PASSKEY` in the path Alice's passkey.
    Static(&'static str),
    /// A live sign-up ceremony and a real attestation for it.
    SignupFinish,
    /// A live log-in ceremony for Alice and a real assertion by her authenticator.
    LoginFinish,
    /// A live add-passkey ceremony of the logged-in browser and a real attestation.
    AddPasskeyFinish,
}

/// What one case sends.
#[derive(Clone, Debug)]
enum Body {
    Bytes(Vec<u8>),
    Json(Value),
    Mutated(Vec<Mutation>),
}

/// A change to the well-formed body; indexes pick among its nested places.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, Value),
    Remove(Index),
    Add(Index, String, Value),
}

#[derive(Clone, Debug)]
struct Case {
    route: Index,
    content_type: Option<&'static str>,
    body: Body,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => Just(Value::Null),
        4 => any::<bool>().prop_map(Value::Bool),
        4 => any::<i64>().prop_map(|n| json!(n)),
        4 => any::<u64>().prop_map(|n| json!(n)),
        4 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        8 => any::<String>().prop_map(Value::String),
        8 => "[a-zA-Z0-9+/=_-]{0,64}".prop_map(Value::String),
        2 => Just(Value::String("\u{0}".into())),
        2 => Just(Value::String(uuid::Uuid::nil().to_string())),
        1 => Just(Value::String("x".repeat(70 * 1024))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("username".to_owned()),
        Just("ceremony".to_owned()),
        Just("credential".to_owned()),
        Just("response".to_owned()),
        Just("code".to_owned()),
        Just("password".to_owned()),
        Just("label".to_owned()),
        Just("channel".to_owned()),
        Just("address".to_owned()),
        Just("method".to_owned()),
        Just("__proto__".to_owned()),
        any::<String>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => (any::<Index>(), field_name(), json_value()).prop_map(|(i, k, v)| Mutation::Add(i, k, v)),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let content_type = prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-16")),
        1 => Just(Some("application/vnd.api+json")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(None),
    ];
    let body = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Bytes),
        2 => json_value().prop_map(Body::Json),
        5 => prop::collection::vec(mutation(), 1..4).prop_map(Body::Mutated),
    ];
    (any::<Index>(), content_type, body).prop_map(|(route, content_type, body)| Case {
        route,
        content_type,
        body,
    })
}

/// Every place in a JSON value (objects' fields and arrays' items), as paths.
fn places(value: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(PathStep::Key(k.clone()));
                out.push(path.clone());
                places(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(PathStep::Item(i));
                out.push(path.clone());
                places(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Item(usize),
}

fn at<'a>(value: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        PathStep::Key(k) => v.get_mut(k.as_str()),
        PathStep::Item(i) => v.get_mut(*i),
    })
}

fn apply(mut body: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut all = vec![Vec::new()];
        places(&body, &mut Vec::new(), &mut all);
        match m {
            Mutation::Replace(i, v) => {
                if let Some(place) = at(&mut body, &all[i.index(all.len())]) {
                    *place = v.clone();
                }
            }
            Mutation::Remove(i) => {
                let path = &all[i.index(all.len())];
                if let Some((last, parent)) = path.split_last()
                    && let Some(parent) = at(&mut body, parent)
                {
                    match (last, parent) {
                        (PathStep::Key(k), Value::Object(map)) => {
                            map.remove(k);
                        }
                        (PathStep::Item(n), Value::Array(items)) if *n < items.len() => {
                            items.remove(*n);
                        }
                        _ => {}
                    }
                }
            }
            Mutation::Add(i, k, v) => {
                if let Some(Value::Object(map)) = at(&mut body, &all[i.index(all.len())]) {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
    }
    body
}

/// The state the cases share: the logged-in browser, Alice's authenticator, her passkey id.
struct World {
    app: Arc<TestApp>,
    browser: Browser,
    alice: Mutex<SoftAuthenticator>,
    passkey: String,
}

impl World {
    async fn template(&self, method: &str, path: &str, template: Template) -> (String, Value) {
        let path = path.replace("PASSKEY", &self.passkey);
        let body = match template {
            Template::Static(text) => {
                let text = text.replace("CEREMONY", &uuid::Uuid::new_v4().to_string());
                serde_json::from_str(&text).unwrap_or(Value::Null)
            }
            Template::SignupFinish => {
                let start = self
                    .app
                    .new_browser()
                    .post(
                        "/api/v1/signup/passkey/start",
                        &json!({"username": format!("p{}", uuid::Uuid::new_v4().simple())}),
                    )
                    .await;
                let credential = self
                    .app
                    .authenticator()
                    .register(&start.body["options"], &Default::default())
                    .unwrap_or(Value::Null);
                json!({"ceremony": start.body["ceremony"], "credential": credential, "label": "Prop"})
            }
            Template::LoginFinish => {
                let start = self
                    .browser
                    .post("/api/v1/login/passkey/start", &json!({"username": "alice"}))
                    .await;
                let assertion = self
                    .alice
                    .lock()
                    .map(|mut a| {
                        a.assert(&start.body["options"], &Default::default())
                            .unwrap_or(Value::Null)
                    })
                    .unwrap_or(Value::Null);
                json!({"ceremony": start.body["ceremony"], "credential": assertion})
            }
            Template::AddPasskeyFinish => {
                let start = self
                    .browser
                    .post("/api/v1/account/passkeys/start", &json!({}))
                    .await;
                let credential = self
                    .app
                    .authenticator()
                    .register(&start.body["options"], &Default::default())
                    .unwrap_or(Value::Null);
                json!({"ceremony": start.body["ceremony"], "credential": credential, "label": "Prop"})
            }
        };
        let _ = method;
        (path, body)
    }

    /// Send one case; the status and body of the answer.
    async fn send(&self, case: &Case) -> (String, u16, Value, String) {
        let (method, path, template) = ROUTES[case.route.index(ROUTES.len())];
        let (path, template) = self.template(method, path, template).await;
        let bytes = match &case.body {
            Body::Bytes(bytes) => bytes.clone(),
            Body::Json(value) => value.to_string().into_bytes(),
            Body::Mutated(mutations) => apply(template, mutations).to_string().into_bytes(),
        };
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = self
            .browser
            .client
            .request(method.clone(), format!("{}{path}", self.browser.base))
            .body(bytes);
        if let Some(ct) = case.content_type {
            request = request.header("content-type", ct);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                (format!("{method} {path}"), status, body, text)
            }
            Err(e) => (format!("{method} {path}"), 599, Value::Null, e.to_string()),
        }
    }
}

async fn no_request_body_however_malformed_yields_a_5xx(app: TestApp) {
    let mut alice = app.authenticator();
    assert_eq!(app.signup_passkey("alice", &mut alice).await.status, 201);
    let passkey = app.get("/api/v1/account/passkeys").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = app.browser.clone();
    let world = World {
        app: Arc::new(app),
        browser,
        alice: Mutex::new(alice),
        passkey,
    };
    let cases = std::env::var("SESAME_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let handle = tokio::runtime::Handle::current();
    let seen = Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let result = tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        });
        runner.run(&case(), |case| {
            let (route, status, body, text) = handle.block_on(world.send(&case));
            if let Ok(mut seen) = seen.lock() {
                *seen.entry(status).or_default() += 1;
            }
            if status >= 500 {
                return Err(TestCaseError::fail(format!(
                    "{route} answered {status}: {text}"
                )));
            }
            if status >= 400 && !body["error"].is_string() {
                return Err(TestCaseError::fail(format!(
                    "{route} answered {status} without the contract body: {text}"
                )));
            }
            Ok(())
        })
    });
    eprintln!(
        "property cases by status: {:?}",
        seen.lock().map(|s| s.clone()).unwrap_or_default()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
