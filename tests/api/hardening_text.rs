//! Free text a person types and Sesame stores as given (a display name, a new passkey's name):
//! control characters are dropped, on SQLite and PostgreSQL alike (PostgreSQL's `text` cannot
//! hold a NUL), and the ceremony that carried them still finishes.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![names_with_control_characters_are_stored_without_them]
}

async fn names_with_control_characters_are_stored_without_them(app: TestApp) {
    let mut phone = app.authenticator();
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "vera", "display_name": "\u{0}Vera\u{7} V.\u{1b}"}),
        )
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    assert_eq!(
        start.body["options"]["publicKey"]["user"]["displayName"],
        "Vera V."
    );
    let credential = phone
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential, "label": "My\u{0} phone"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/account").await.body["display_name"],
        "Vera V."
    );

    let mut laptop = app.authenticator();
    let r = app
        .add_passkey(&mut laptop, Some("\u{0}Work\u{7}\tlaptop\u{202E}\n"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["label"], "Work laptop");

    // Nothing but control characters: named like a passkey given no name.
    let mut key = app.authenticator();
    let r = app.add_passkey(&mut key, Some("\u{0}\u{1}\t")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let unnamed = r.body["label"].as_str().unwrap().to_owned();
    assert!(
        !unnamed.is_empty() && !unnamed.chars().any(char::is_control),
        "{unnamed}"
    );

    let list = app.get("/api/v1/account/passkeys").await;
    let mut labels: Vec<String> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap().to_owned())
        .collect();
    labels.sort();
    let mut expected = vec!["My phone".to_owned(), "Work laptop".to_owned(), unnamed];
    expected.sort();
    assert_eq!(labels, expected);
    assert_eq!(app.get("/api/v1/account").await.body["passkeys"], 3);
}
