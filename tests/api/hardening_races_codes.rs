//! Races on one-time codes: parallel requests for a code to one address (the resend limit),
//! parallel wrong codes (the lock-out count; a sign-up's five tries) and parallel right ones
//! (which owe it nothing).

use sea_orm::EntityTrait;
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
        parallel_code_sends_to_one_address_send_one_code,
        parallel_wrong_codes_are_each_counted_once,
        parallel_right_codes_of_one_log_in_leave_no_failures,
        parallel_wrong_sign_up_codes_are_checked_at_most_five_times,
    ]
}

/// The resend limit (one code a 30 s per address, or per username for a log-in) holds when
/// the requests arrive together: its check and its record are one transaction, so exactly one
/// of them sends a code.
async fn parallel_code_sends_to_one_address_send_one_code(app: TestApp) {
    let signup = json!({"username": "kim", "channel": "email", "address": "kim@example.com"});
    assert_one_send(
        &app,
        "/api/v1/signup/code/start",
        &signup,
        "kim@example.com",
    )
    .await;

    let r = signup_by_email(&app, &app.new_browser(), "lee", "lee@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.mail.clear();
    let login = json!({"username": "lee", "method": "email"});
    assert_one_send(&app, "/api/v1/login/code/start", &login, "lee@example.com").await;
}

/// Eight requests for a code at once: one 202 and one email, seven 429.
async fn assert_one_send(app: &TestApp, path: &str, body: &serde_json::Value, address: &str) {
    let attempts = (0..8).map(|_| {
        let browser = app.new_browser();
        async move { browser.post(path, body).await.status }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{path}: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [202, 429].contains(s)),
        "{path}: {statuses:?}"
    );
    // A sign-up's 202 is answered after the code was handed to the SMTP server; a log-in's
    // code is sent after its answer.
    app.settle().await;
    let sent = app
        .mail
        .messages()
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r.contains(address)))
        .count();
    assert_eq!(sent, 1, "{path}: one code was sent to {address}");
}

/// Wrong codes for one account at once, on separate ceremonies: each try is charged to the
/// account before its code is checked, so exactly the five free tries are checked (401, each
/// with a count of its own: 1, 2, 3, …, as the account's activity shows), the lock-out is
/// recorded once, and the other three are refused unchecked (429) — as if sent one by one.
/// (Before the charge, all eight were checked: bursts from many addresses could guess far past
/// the lock-out.)
async fn parallel_wrong_codes_are_each_counted_once(app: TestApp) {
    let owner = app.new_browser();
    let mut auth = app.authenticator();
    assert_eq!(owner.signup_passkey("lena", &mut auth).await.status, 201);
    let mut ceremonies = Vec::new();
    for _ in 0..8 {
        ceremonies.push(login_code_start(&app.browser, "lena", "totp").await);
    }
    let attempts = ceremonies.iter().map(|ceremony| {
        let browser = app.new_browser();
        async move {
            login_code_finish(&browser, ceremony, "000000", None)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    // 401 for a counted failure; 429 once five failures had been counted (throttled).
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    let failed = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(
        failed, 5,
        "only the five free tries are checked: {statuses:?}"
    );

    let events = owner.get("/api/v1/account/events?limit=100").await;
    assert_eq!(events.status, 200, "{}", events.text);
    let events = events.body.as_array().cloned().unwrap_or_default();
    let of_kind = |kind: &str| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["detail"]["consecutive_failures"].clone())
            .collect()
    };
    let mut counts: Vec<i64> = of_kind("login_failed")
        .iter()
        .filter_map(serde_json::Value::as_i64)
        .collect();
    counts.sort_unstable();
    let expected: Vec<i64> = (1..=failed as i64).collect();
    assert_eq!(counts, expected, "{statuses:?}");
    assert_eq!(of_kind("locked_out"), vec![json!(5)], "{statuses:?}");
}

/// The same right code sent eight times at once: one log-in, the others find the ceremony used
/// (400) or, past five tries in flight, are throttled (429); and the account owes nothing
/// afterwards: the winner cleared the count and the others gave their tries back.
async fn parallel_right_codes_of_one_log_in_leave_no_failures(app: TestApp) {
    let r = signup_by_email(&app, &app.new_browser(), "mona", "mona@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ceremony = login_code_start(&app.browser, "mona", "email").await;
    let code = read_code(&app, "mona@example.com").await;
    let statuses = login_code_finish_at_once(&app, &ceremony, &code, 8).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 429].contains(s)),
        "{statuses:?}"
    );
    assert_owes_nothing(&app, &statuses).await;
}

/// The app's one account has no failures counted and no back-off after a burst of `statuses`.
pub(crate) async fn assert_owes_nothing(app: &TestApp, statuses: &[u16]) {
    let db = app.db().await;
    let account = entity::account::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (account.failed_attempts, account.locked_until),
        (0, None),
        "{statuses:?}"
    );
}

/// A sign-up's code has no account whose lock-out would count the tries: each is charged to the
/// ceremony before its code is checked, so of eight wrong codes sent at once exactly five are
/// checked (401) and the ceremony is then over for the rest (400), the right code included
/// (API.md: "its fifth wrong code" ends a code ceremony).
async fn parallel_wrong_sign_up_codes_are_checked_at_most_five_times(app: TestApp) {
    let start = app
        .browser
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "nina", "channel": "email", "address": "nina@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let ceremony = start.body["ceremony"].clone();
    let code = read_code(&app, "nina@example.com").await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let attempts = (0..8).map(|_| {
        let browser = app.new_browser();
        let body = json!({"ceremony": ceremony, "code": wrong});
        async move {
            let r = browser.post("/api/v1/signup/code/finish", &body).await;
            (r.status, r.error().to_owned())
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let checked = answers
        .iter()
        .filter(|a| *a == &(401, "invalid_code".to_owned()))
        .count();
    let over = answers
        .iter()
        .filter(|a| *a == &(400, "invalid_ceremony".to_owned()))
        .count();
    assert_eq!((checked, over), (5, 3), "{answers:?}");
    let r = app
        .browser
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": ceremony, "code": code}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
    assert_eq!(app.browser.get("/api/v1/session").await.status, 401);
}
