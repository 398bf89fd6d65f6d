//! One-time codes that are refused: wrong, malformed, for unknown users or methods, to invalid
//! addresses; and no code reaches a response or the ceremony table.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        the_fifth_wrong_code_ends_the_ceremony,
        unknown_users_and_missing_methods_get_the_same_answers,
        malformed_codes_are_refused_and_never_accepted,
        invalid_addresses_are_refused,
        no_code_reaches_a_response_or_the_ceremony_table,
    ]
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
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.error(), "invalid_code");
    }
    // Past the account's back-off that the fifth failure started (a 429 would say nothing
    // about the ceremony), the right code finds the ceremony over.
    app.clock.advance_secs(2);
    let r = login_code_finish(&app.browser, &ceremony, &code, None).await;
    assert_eq!(
        r.status, 400,
        "the fifth wrong code ended the ceremony: {}",
        r.text
    );
    assert_eq!(r.error(), "invalid_ceremony");
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
    app.settle().await;
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
    // Not a code at all: a malformed request (400), or a body over the limit (413), both
    // `invalid_request` (API.md), never a wrong code that counts.
    for (body, status) in [
        (json!({"ceremony": ceremony, "code": n}), 400),
        (json!({"ceremony": ceremony, "code": null}), 400),
        (json!({"ceremony": ceremony}), 400),
        (
            json!({"ceremony": ceremony, "code": "x".repeat(1 << 20)}),
            413,
        ),
    ] {
        let r = app
            .new_browser()
            .post("/api/v1/login/code/finish", &body)
            .await;
        assert_eq!(
            (r.status, r.error()),
            (status, "invalid_request"),
            "{}",
            r.text
        );
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
