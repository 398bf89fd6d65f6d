//! What protects the ways in: no code, password, token or secret reaches the log, and a hundred
//! failures lock code log-in until a passkey log-in clears it.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, login_code_finish, login_code_start, read_code},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        no_code_password_token_or_secret_reaches_the_log,
        a_hundred_failures_lock_code_log_in_until_a_passkey_clears_it,
        a_wrong_code_confirming_the_app_can_start_the_lock_out_and_says_so,
    ]
}

async fn no_code_password_token_or_secret_reaches_the_log(app: TestApp) {
    use sesame_tests::logs;
    let address = "quinn@example.com";
    let start = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "quinn", "channel": "email", "address": address}),
        )
        .await;
    let signup_code = read_code(&app, address).await;
    let r = app
        .post(
            "/api/v1/signup/code/finish",
            &json!({"ceremony": start.body["ceremony"], "code": signup_code}),
        )
        .await;
    assert_eq!(r.status, 201);
    let token = r
        .set_cookie()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let password = "saffron lantern under glass";
    assert_eq!(
        app.put("/api/v1/account/password", &json!({"password": password}))
            .await
            .status,
        204
    );
    let secret = enable_totp(&app, &app.browser).await;
    let recovery: Vec<String> = serde_json::from_value(
        app.post("/api/v1/account/recovery-codes", &json!({}))
            .await
            .body["codes"]
            .clone(),
    )
    .unwrap();
    app.clock.advance_secs(31);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "quinn", "email").await;
    let login_code = read_code(&app, address).await;
    let wrong = login_code_finish(&browser, &ceremony, "000000", Some(password)).await;
    assert_eq!(wrong.status, 401);
    let r = login_code_finish(&browser, &ceremony, &login_code, Some(password)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token2 = r
        .set_cookie()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let mut secrets = vec![
        signup_code,
        login_code,
        token,
        token2,
        password.to_owned(),
        secret,
    ];
    secrets.extend(recovery);
    // The log is being captured (else the check below would pass on an empty one): this
    // request's id is in it.
    let seen = app.get("/api/v1/session").await;
    let id = seen
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    assert!(logs::contains(&id), "the log is not captured");
    for s in &secrets {
        assert!(!logs::contains(s), "a secret reached the log");
    }
    // And none reached a response it does not belong to (as a whole token: a six-digit code
    // may well occur inside a ten-digit time stamp).
    let account = app.get("/api/v1/account").await.text;
    let events = app.get("/api/v1/account/events?limit=100").await.text;
    let sessions = app.get("/api/v1/account/sessions").await.text;
    for s in &secrets {
        for body in [&account, &events, &sessions] {
            assert!(
                !logs::contains_token(body, s),
                "a secret reached a response"
            );
        }
    }
}

async fn a_hundred_failures_lock_code_log_in_until_a_passkey_clears_it(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("rita", &mut auth)
            .await
            .status,
        201
    );
    let browser = app.new_browser();
    for _ in 0..100 {
        // Wait out each back-off with the injected clock, then fail again.
        app.clock.advance_secs(3601);
        let ceremony = login_code_start(&browser, "rita", "totp").await;
        assert_eq!(
            login_code_finish(&browser, &ceremony, "000000", None)
                .await
                .status,
            401
        );
    }
    app.clock.advance_secs(7 * 24 * 3600);
    let ceremony = login_code_start(&browser, "rita", "totp").await;
    let r = login_code_finish(&browser, &ceremony, "000000", None).await;
    assert_eq!(
        r.status, 429,
        "hard lock: no more tries however long one waits"
    );
    let r = app
        .new_browser()
        .login_passkey(Some("rita"), &mut auth, &sesame_tests::Tamper::default())
        .await;
    assert_eq!(r.status, 200, "a passkey log-in is never blocked");
    let ceremony = login_code_start(&browser, "rita", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, "000000", None)
            .await
            .status,
        401,
        "the passkey log-in cleared the lock"
    );
}

/// A wrong code at the authenticator app's set-up counts towards the lock-out like a log-in's,
/// and when it is the one that starts the throttling the activity says so (`locked_out`),
/// as it does for a log-in.
async fn a_wrong_code_confirming_the_app_can_start_the_lock_out_and_says_so(app: TestApp) {
    let mut auth = app.authenticator();
    let owner = app.new_browser();
    assert_eq!(owner.signup_passkey("sara", &mut auth).await.status, 201);
    let stranger = app.new_browser();
    for _ in 0..4 {
        let ceremony = login_code_start(&stranger, "sara", "totp").await;
        let r = login_code_finish(&stranger, &ceremony, "000000", None).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let start = owner.post("/api/v1/account/totp/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let r = owner
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": "000000"}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);

    let events = owner.get("/api/v1/account/events?limit=50").await;
    let locked: Vec<&serde_json::Value> = events
        .body
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "locked_out")
        .collect();
    assert_eq!(locked.len(), 1, "{}", events.text);
    assert_eq!(locked[0]["detail"]["consecutive_failures"], 5);
    // The set-up's failure is not a failed sign-in.
    let failed = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login_failed")
        .count();
    assert_eq!(failed, 4, "{}", events.text);
}
