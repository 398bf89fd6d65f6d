//! Contacts as ways in: one counts only once confirmed, the last way in cannot be removed, and
//! an account holds at most twenty.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

use crate::factors::account;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_contact_counts_only_after_its_code_is_confirmed,
        removing_the_last_way_in_is_refused,
        an_account_holds_at_most_twenty_contacts,
        another_accounts_contact_is_not_found_and_left_alone,
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

/// Checked before a code is sent (none is sent that could not be used) and again when the code
/// comes back: two ceremonies started at 19 cannot both end in a contact.
async fn an_account_holds_at_most_twenty_contacts(app: TestApp) {
    account(&app, "pia").await;
    for n in 2..20 {
        crate::account_passkeys::add_verified_email(
            &app,
            &app.browser,
            &format!("pia{n}@example.com"),
        )
        .await;
    }
    let mut started = Vec::new();
    for address in ["pia.a@example.com", "pia.b@example.com"] {
        let r = app
            .post(
                "/api/v1/account/contacts/start",
                &json!({"channel": "email", "address": address}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        started.push((r.body["ceremony"].clone(), read_code(&app, address).await));
        app.clock.advance_secs(31);
    }
    let mut answers = Vec::new();
    for (ceremony, code) in &started {
        let body = json!({"ceremony": ceremony, "code": code});
        answers.push(app.post("/api/v1/account/contacts/finish", &body).await);
    }
    assert_eq!(answers[0].status, 201, "{}", answers[0].text);
    assert_eq!(answers[1].status, 409, "{}", answers[1].text);
    assert_eq!(answers[1].error(), "limit_reached");
    let listed = app.get("/api/v1/account/contacts").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 20);
    let r = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "pia.c@example.com"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "limit_reached");
    let sent_to_c = app
        .mail
        .messages()
        .iter()
        .any(|m| m.recipients.iter().any(|to| to == "pia.c@example.com"));
    assert!(!sent_to_c, "no code was sent");
    // An address the account has already may be confirmed again.
    let r = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "pia.a@example.com"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

/// Removing a contact by the id of another account's contact (a real one, not a made-up id):
/// 404 `not_found`, and the other account keeps it and still gets its log-in codes there.
async fn another_accounts_contact_is_not_found_and_left_alone(app: TestApp) {
    account(&app, "mona").await;
    enable_totp(&app, &app).await;
    let monas = app.get("/api/v1/account/contacts").await.body;
    let id = monas[0]["id"].as_str().expect("an id").to_owned();
    let bob = app.new_browser();
    let r = signup_by_email(&app, &bob, "bob", "bob@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    enable_totp(&app, &bob).await;
    let r = bob.delete(&format!("/api/v1/account/contacts/{id}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.error(), "not_found");
    assert_eq!(app.get("/api/v1/account/contacts").await.body, monas);
    let r = app
        .new_browser()
        .post(
            "/api/v1/login/code/start",
            &json!({"username": "mona", "method": "email"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    read_code(&app, "mona@example.com").await;
}
