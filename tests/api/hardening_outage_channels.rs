//! A mail or SMS outage: 503 on the code starts of sign-up and of a new contact, no code
//! leaked, nothing left to finish, and it works again afterwards. A log-in's code start answers
//! 202 as for anyone (its code is sent after the answer), so an outage, or a mail server that
//! refuses one address, shows nothing about the account.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_mail_or_sms_outage_answers_503_on_sign_up_and_contact_code_starts_and_leaves_nothing_stuck,
        a_code_log_in_answers_before_its_code_is_sent,
    ]
}

async fn a_mail_or_sms_outage_answers_503_on_sign_up_and_contact_code_starts_and_leaves_nothing_stuck(
    app: TestApp,
) {
    use sesame_fakes::SinkMode;
    assert_eq!(
        signup_by_email(&app, &app.browser, "judy", "judy@example.com")
            .await
            .status,
        201
    );
    // A phone number too, while the provider still works.
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "sms", "address": "+44 7911 123450"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let text = app
        .sms
        .wait_for_request(Duration::from_secs(10))
        .await
        .unwrap();
    let code = crate::codes::code_in(text.json().unwrap()["body"].as_str().unwrap());
    let r = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let db = app.db().await;
    let ceremonies = || async { entity::ceremony::Entity::find().count(&db).await.unwrap() };
    let mut baseline = ceremonies().await;
    app.settle().await; // the notice of the new number
    let sent = app.mail.messages().len();
    let someone = app.new_browser();

    for mode in [SinkMode::RefuseMail, SinkMode::RefuseData] {
        app.mail.set_mode(mode);
        app.clock.advance_secs(31); // past the resend gap, so each start really tries to send
        let login = someone
            .post(
                "/api/v1/login/code/start",
                &json!({"username": "judy", "method": "email"}),
            )
            .await;
        let contact = app
            .post(
                "/api/v1/account/contacts/start",
                &json!({"channel": "email", "address": "judy.work@example.com"}),
            )
            .await;
        let signup = someone
            .post(
                "/api/v1/signup/code/start",
                &json!({"username": "kim", "channel": "email", "address": "kim@example.com"}),
            )
            .await;
        // The log-in answers as for an unknown user; its code is refused after the answer,
        // and its ceremony, which no code reached, fails like a wrong code.
        assert_eq!(login.status, 202, "{mode:?}: {}", login.text);
        let unknown = someone
            .post(
                "/api/v1/login/code/start",
                &json!({"username": "nobody-here", "method": "email"}),
            )
            .await;
        assert_eq!(unknown.status, 202, "{}", unknown.text);
        for r in [&login, &unknown] {
            assert_eq!(
                r.body.as_object().unwrap().keys().collect::<Vec<_>>(),
                vec!["ceremony"]
            );
        }
        baseline += 2;
        app.settle().await;
        let r = login_code_finish(&someone, &login.body["ceremony"], "123456", None).await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.error(), "invalid_code");
        for (what, r) in [("contact", &contact), ("sign-up", &signup)] {
            assert_eq!(r.status, 503, "{mode:?} {what}: {}", r.text);
            assert_eq!(r.error(), "unavailable");
            assert!(
                !r.text.chars().any(|c| c.is_ascii_digit()),
                "{what}: {}",
                r.text
            );
        }
        assert_eq!(
            ceremonies().await,
            baseline,
            "{mode:?}: nothing was left to finish"
        );
    }
    assert_eq!(app.mail.messages().len(), sent, "nothing was delivered");

    // The SMS provider failing (the webhook answers 500) is the same.
    app.sms.set_status(500);
    app.clock.advance_secs(31);
    let sms_contact = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "sms", "address": "+44 7911 123456"}),
        )
        .await;
    let sms_signup = someone
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "lee", "channel": "sms", "address": "+44 7911 123457"}),
        )
        .await;
    for r in [&sms_contact, &sms_signup] {
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(!r.text.chars().any(|c| c.is_ascii_digit()), "{}", r.text);
    }
    // A log-in by text answers as for anyone (its send was tried, after the answer), and its
    // ceremony fails like a wrong code.
    let tried = app.sms.requests().len();
    let sms_login = login_code_start(&someone, "judy", "sms").await;
    baseline += 1;
    app.settle().await;
    assert_eq!(app.sms.requests().len(), tried + 1, "the text was tried");
    let r = login_code_finish(&someone, &sms_login, "123456", None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(ceremonies().await, baseline);

    // Back up: everything works again, without waiting on anything the outage left behind.
    app.mail.set_mode(SinkMode::Accept);
    app.sms.set_status(200);
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&someone, "judy", "email").await;
    let code = read_code(&app, "judy@example.com").await;
    assert_eq!(
        login_code_finish(&someone, &ceremony, &code, None)
            .await
            .status,
        200
    );
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "judy.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(&app, "judy.work@example.com").await;
    let r = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let signup = signup_by_email(&app, &app.new_browser(), "kim", "kim@example.com").await;
    assert_eq!(signup.status, 201, "{}", signup.text);

    // A mail server that is gone altogether (connection refused).
    app.mail.stop();
    app.clock.advance_secs(31);
    let r = someone
        .post(
            "/api/v1/login/code/start",
            &json!({"username": "judy", "method": "email"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    app.settle().await;
}

/// The answer to a log-in's code start does not wait for the mail server: here it holds the
/// message until after the answer (before, the answer waited for the send, so its time told
/// which accounts have an address to send to). The code still arrives and signs in.
async fn a_code_log_in_answers_before_its_code_is_sent(app: TestApp) {
    use sesame_fakes::SinkMode;
    let r = signup_by_email(&app, &app.browser, "ivy", "ivy@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.mail.clear();
    app.mail.set_mode(SinkMode::Hold);
    let someone = app.new_browser();
    let ceremony = tokio::time::timeout(
        Duration::from_secs(10),
        login_code_start(&someone, "ivy", "email"),
    )
    .await
    .expect("the answer comes while the mail server holds the code");
    assert!(app.mail.messages().is_empty(), "the code is not sent yet");
    app.mail.set_mode(SinkMode::Accept);
    let code = read_code(&app, "ivy@example.com").await;
    let r = login_code_finish(&someone, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
