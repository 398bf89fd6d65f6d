use std::time::Duration;

use serde_json::json;
use sesame_tests::{
    Tamper, TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
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
        the_fifth_wrong_code_ends_the_ceremony,
        unknown_users_and_missing_methods_get_the_same_answers,
        malformed_codes_are_refused_and_never_accepted,
        repeated_failures_lock_code_log_in_but_not_passkeys,
        the_lock_out_survives_a_restart,
        a_resend_within_thirty_seconds_is_refused,
        an_smtp_outage_answers_503_and_leaves_nothing_to_finish,
        invalid_addresses_are_refused,
        no_code_reaches_a_response_or_the_ceremony_table,
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
    let attempts = (0..10).map(|_| {
        let browser = app.new_browser();
        let ceremony = ceremony.clone();
        let code = code.clone();
        async move {
            login_code_finish(&browser, &ceremony, &code, None)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
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

fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

async fn the_fifth_wrong_code_ends_the_ceremony(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.new_browser(), "frank", "frank@example.com")
            .await
            .status,
        201
    );
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "frank", "email").await;
    let code = read_code(&app, "frank@example.com").await;
    for _ in 0..4 {
        let r = login_code_finish(&app.browser, &ceremony, &wrong(&code), None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.error(), "invalid_code");
    }
    // A wrong code does not end the ceremony: the right one still works after four.
    let ok = login_code_finish(&app.browser, &ceremony, &code, None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.new_browser(), "frank", "email").await;
    let code = read_code(&app, "frank@example.com").await;
    for _ in 0..5 {
        let r = login_code_finish(&app.browser, &ceremony, &wrong(&code), None).await;
        assert!(r.status == 401 || r.status == 429, "{}", r.text);
    }
    let r = login_code_finish(&app.browser, &ceremony, &code, None).await;
    assert_ne!(
        r.status, 200,
        "the fifth wrong code ended the ceremony: {}",
        r.text
    );
}

async fn unknown_users_and_missing_methods_get_the_same_answers(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("grace", &mut auth)
            .await
            .status,
        201
    );
    for (username, method) in [
        ("nobody", "email"),
        ("grace", "email"),
        ("grace", "totp"),
        ("grace", "recovery"),
        ("nobody", "totp"),
    ] {
        let r = app
            .post(
                "/api/v1/login/code/start",
                &json!({"username": username, "method": method}),
            )
            .await;
        assert_eq!(r.status, 202, "{username} {method}");
        assert_eq!(
            r.body.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["ceremony"]
        );
        let r = login_code_finish(
            &app.browser,
            &r.body["ceremony"],
            "123456",
            Some("some password"),
        )
        .await;
        assert_eq!(r.status, 401, "{username} {method}");
        assert_eq!(r.error(), "invalid_code");
        assert_eq!(
            r.body["error_description"],
            json!("the code is wrong, expired or already used")
        );
    }
    assert!(app.mail.messages().is_empty(), "nothing was sent");
}

async fn malformed_codes_are_refused_and_never_accepted(app: TestApp) {
    assert_eq!(
        signup_by_email(&app, &app.new_browser(), "heidi", "heidi@example.com")
            .await
            .status,
        201
    );
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&app.browser, "heidi", "email").await;
    let code = read_code(&app, "heidi@example.com").await;
    let arabic: String = code
        .chars()
        .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    let bad_strings = vec![
        String::new(),
        format!(" {code}"),
        format!("{code} "),
        format!("{code}0"),
        code[..5].to_owned(),
        arabic,
        format!("{} {}", &code[..3], &code[3..]),
    ];
    for bad in bad_strings {
        let r = login_code_finish(&app.new_browser(), &ceremony, &bad, None).await;
        // 401 while the ceremony lives; it ends at the fifth wrong code (400), and the account
        // is throttled after five failures (429): never a success.
        assert!([400, 401, 429].contains(&r.status), "{bad:?}: {}", r.text);
    }
    let n: u64 = code.parse().unwrap();
    for body in [
        json!({"ceremony": ceremony, "code": n}),
        json!({"ceremony": ceremony, "code": null}),
        json!({"ceremony": ceremony}),
        json!({"ceremony": ceremony, "code": "x".repeat(1 << 20)}),
    ] {
        let r = app
            .new_browser()
            .post("/api/v1/login/code/finish", &body)
            .await;
        assert!((400..500).contains(&r.status), "{}", r.text);
    }
    // None of them was taken for the code: the ceremony is spent, the account unharmed.
    assert_eq!(
        login_code_finish(&app.browser, &ceremony, &code, None)
            .await
            .status,
        400
    );
    app.clock.advance_secs(120);
    let ceremony = login_code_start(&app.browser, "heidi", "email").await;
    let code = read_code(&app, "heidi@example.com").await;
    assert_eq!(
        login_code_finish(&app.browser, &ceremony, &code, None)
            .await
            .status,
        200
    );
}

async fn repeated_failures_lock_code_log_in_but_not_passkeys(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("ivan", &mut auth)
            .await
            .status,
        201
    );
    let mut saw_429 = None;
    for i in 0..12 {
        let ceremony = login_code_start(&app.browser, "ivan", "totp").await;
        let r = login_code_finish(&app.browser, &ceremony, "000000", None).await;
        if r.status == 429 {
            assert_eq!(r.error(), "too_many_attempts");
            assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
            saw_429 = Some(i);
            break;
        }
        assert_eq!(r.status, 401);
    }
    let first = saw_429.expect("throttled within 10 consecutive failures");
    assert!(first <= 10);
    // Start still answers 202, revealing nothing.
    assert_eq!(
        app.post(
            "/api/v1/login/code/start",
            &json!({"username": "ivan", "method": "totp"})
        )
        .await
        .status,
        202
    );
    // A passkey still works, and clears the lock-out.
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("ivan"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
    let ceremony = login_code_start(&app.browser, "ivan", "totp").await;
    assert_eq!(
        login_code_finish(&app.browser, &ceremony, "000000", None)
            .await
            .status,
        401
    );
}

async fn the_lock_out_survives_a_restart(mut app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("judy", &mut auth)
            .await
            .status,
        201
    );
    for _ in 0..6 {
        let ceremony = login_code_start(&app.browser, "judy", "recovery").await;
        let _ = login_code_finish(&app.browser, &ceremony, "aaaa-bbbb-cccc", None).await;
    }
    app.restart().await;
    let ceremony = login_code_start(&app.browser, "judy", "recovery").await;
    let r = login_code_finish(&app.browser, &ceremony, "aaaa-bbbb-cccc", None).await;
    assert_eq!(r.status, 429, "{}", r.text);
}

async fn a_resend_within_thirty_seconds_is_refused(app: TestApp) {
    let body = json!({"username": "ken", "channel": "email", "address": "ken@example.com"});
    assert_eq!(
        app.post("/api/v1/signup/code/start", &body).await.status,
        202
    );
    let r = app.post("/api/v1/signup/code/start", &body).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    app.clock.advance_secs(31);
    assert_eq!(
        app.post("/api/v1/signup/code/start", &body).await.status,
        202
    );
}

async fn an_smtp_outage_answers_503_and_leaves_nothing_to_finish(app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    app.mail.set_mode(sesame_fakes::SinkMode::RefuseMail);
    let r = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "leo", "channel": "email", "address": "leo@example.com"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.error(), "unavailable");
    let db = app.db().await;
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0
    );
    app.mail.stop();
    let r = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "leo2", "channel": "email", "address": "leo2@example.com"}),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0
    );
}

async fn invalid_addresses_are_refused(app: TestApp) {
    for (channel, address) in [
        ("email", "not-an-email"),
        ("email", "a@"),
        ("sms", "12345"),
        ("sms", "+1 555"),
        ("fax", "+441234"),
    ] {
        let r = app
            .post(
                "/api/v1/signup/code/start",
                &json!({"username": "mike", "channel": channel, "address": address}),
            )
            .await;
        assert_eq!(r.status, 400, "{channel} {address}: {}", r.text);
    }
    assert!(app.mail.messages().is_empty());
}

async fn no_code_reaches_a_response_or_the_ceremony_table(app: TestApp) {
    use sea_orm::EntityTrait;
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "nina", "channel": "email", "address": "nina@example.com"}),
        )
        .await;
    let code = read_code(&app, "nina@example.com").await;
    assert!(!start.text.contains(&code));
    let db = app.db().await;
    for row in entity::ceremony::Entity::find().all(&db).await.unwrap() {
        assert!(!row.state.contains(&code));
        assert_ne!(row.code_hash.as_deref(), Some(code.as_bytes()));
    }
}

fn code_in(text: &str) -> String {
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
