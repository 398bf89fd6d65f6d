//! Signing up and logging in with a one-time code sent by email or text message.

use std::time::Duration;

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{
        login_code_finish, login_code_finish_at_once, login_code_start, read_code, signup_by_email,
    },
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_signs_up_with_an_emailed_code_and_is_logged_in,
        a_person_signs_up_with_a_texted_code_sent_through_the_webhook,
        an_email_code_logs_in_and_works_only_once,
        parallel_uses_of_one_valid_code_let_exactly_one_through,
        a_code_expires_after_ten_minutes,
        a_texted_code_logs_in_to_an_account_with_a_verified_number,
    ]
}

async fn a_person_signs_up_with_an_emailed_code_and_is_logged_in(app: TestApp) {
    let r = signup_by_email(&app, &app.browser, "Alice", "Alice@Example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "alice");
    assert_eq!(r.body["account"]["contacts"], 1);
    assert!(r.set_cookie().is_some());
    let session = app.get("/api/v1/session").await;
    assert_eq!(session.body["methods"], json!(["email"]));
    let contacts = app.get("/api/v1/account/contacts").await;
    assert_eq!(contacts.body[0]["channel"], "email");
    assert_eq!(contacts.body[0]["address"], "a***@example.com");
    let mail = &app.mail.messages()[0];
    assert!(
        mail.text.as_deref().unwrap().contains("10 minutes"),
        "the email says when the code expires"
    );
    assert!(
        mail.html.as_deref().is_some_and(|h| !h.is_empty()),
        "an HTML part too"
    );
}

async fn a_person_signs_up_with_a_texted_code_sent_through_the_webhook(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "bob", "channel": "sms", "address": "+44 7911 123456"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let request = app
        .sms
        .wait_for_request(Duration::from_secs(10))
        .await
        .expect("the webhook is called");
    let body = request.json().unwrap();
    assert_eq!(body["to"], "+447911123456", "E.164");
    let text = body["body"].as_str().unwrap();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    // The signature covers "<timestamp>.<body>" with the shared secret.
    let ts: u64 = request
        .header("x-sesame-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let expected = sesame_delivery::webhook_signature(
        sesame_tests::app::SMS_WEBHOOK_SECRET.as_bytes(),
        ts,
        &request.body,
    )
    .unwrap();
    assert_eq!(
        request.header("x-sesame-signature"),
        Some(expected.as_str())
    );
    let r = app
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/session").await.body["methods"],
        json!(["sms"])
    );
}

async fn an_email_code_logs_in_and_works_only_once(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.new_browser(), "carol", "carol@example.com")
            .await
            .status,
        201
    );
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "carol", "email").await;
    let code = read_code(&app, "carol@example.com").await;
    let r = login_code_finish(&app.browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "carol");
    let again = login_code_finish(&app.new_browser(), &ceremony, &code, None).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error(), "invalid_ceremony");
}

async fn parallel_uses_of_one_valid_code_let_exactly_one_through(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.new_browser(), "dave", "dave@example.com")
            .await
            .status,
        201
    );
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "dave", "email").await;
    let code = read_code(&app, "dave@example.com").await;
    let statuses = login_code_finish_at_once(&app, &ceremony, &code, 10).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| (200..500).contains(s)),
        "{statuses:?}"
    );
}

async fn a_code_expires_after_ten_minutes(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.new_browser(), "erin", "erin@example.com")
            .await
            .status,
        201
    );
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "erin", "email").await;
    let code = read_code(&app, "erin@example.com").await;
    app.clock.advance_secs(10 * 60 + 1);
    let r = login_code_finish(&app.browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_ceremony");
}

pub(crate) fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned()
}

async fn a_texted_code_logs_in_to_an_account_with_a_verified_number(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "sam", "channel": "sms", "address": "+1 415 555 2671"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let sms = app
        .sms
        .wait_for_request(Duration::from_secs(10))
        .await
        .unwrap();
    let code = code_in(sms.json().unwrap()["body"].as_str().unwrap());
    let r = app
        .new_browser()
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "sam", "sms").await;
    let sms = app
        .sms
        .wait_for_request(Duration::from_secs(10))
        .await
        .expect("a text is sent");
    let body = sms.json().unwrap();
    assert_eq!(body["to"], "+14155552671");
    let r = login_code_finish(
        &app.browser,
        &ceremony,
        &code_in(body["body"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/session").await.body["methods"],
        json!(["sms"])
    );
}
