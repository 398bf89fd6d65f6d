//! Contacts as ways in: one counts only once confirmed, and the last way in cannot be removed.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, read_code},
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_contact_counts_only_after_its_code_is_confirmed,
        removing_the_last_way_in_is_refused,
    ]
}

async fn a_contact_counts_only_after_its_code_is_confirmed(app: TestApp) {
    account(&app, "leo").await;
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "leo.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    assert_eq!(
        app.get("/api/v1/account/contacts")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let code = read_code(&app, "leo.work@example.com").await;
    let r = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["channel"], "email");
    assert_eq!(
        app.get("/api/v1/account/contacts")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn removing_the_last_way_in_is_refused(app: TestApp) {
    account(&app, "mia").await;
    let contacts = app.get("/api/v1/account/contacts").await;
    let id = contacts.body[0]["id"].as_str().unwrap().to_owned();
    let r = app.delete(&format!("/api/v1/account/contacts/{id}")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "last_method");
    // With TOTP on, the contact can go; then TOTP is the last way in.
    enable_totp(&app, &app.browser).await;
    assert_eq!(
        app.delete(&format!("/api/v1/account/contacts/{id}"))
            .await
            .status,
        204
    );
    let r = app.delete("/api/v1/account/totp").await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "last_method");
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], true);
}
