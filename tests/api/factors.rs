//! The authenticator app (TOTP) as a way in: setting it up, logging in with its codes once,
//! its time window, its secret encrypted at rest, replacing it, and turning it off.

use serde_json::json;
use sesame_tests::{
    TestApp,
    flows::{enable_totp, login_code_finish, login_code_start, signup_by_email, totp_code},
    harness::TestFn,
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        totp_set_up_returns_a_key_uri_and_qr_and_is_on_only_after_a_code,
        a_totp_code_logs_in_once_and_its_replay_is_refused,
        the_totp_enrolment_code_cannot_be_reused_to_log_in,
        parallel_uses_of_one_totp_code_let_exactly_one_through,
        the_totp_window_is_one_step_either_side,
        totp_secrets_are_encrypted_at_rest,
        turning_totp_off_revokes_other_sessions,
        a_new_authenticator_app_replaces_the_old_secret_and_its_sessions,
    ]
}

/// An account with an email contact, logged in on `app.browser`.
pub(crate) async fn account(app: &TestApp, name: &str) {
    let r = signup_by_email(app, &app.browser, name, &format!("{name}@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

async fn totp_set_up_returns_a_key_uri_and_qr_and_is_on_only_after_a_code(app: TestApp) {
    account(&app, "alice").await;
    let start = app.post("/api/v1/account/totp/start", &json!({})).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let secret = start.body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = start.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Sesame:alice?"), "{uri}");
    assert!(uri.contains("issuer=Sesame") && uri.contains(&format!("secret={secret}")));
    assert!(start.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
    let bad = app
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": "000000"}),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
    let code = totp_code(&app, secret, 0);
    let ok = app
        .post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], true);
    let events = app.get("/api/v1/account/events?limit=50").await;
    assert!(events.text.contains("totp_enabled"), "{}", events.text);
}

async fn a_totp_code_logs_in_once_and_its_replay_is_refused(app: TestApp) {
    account(&app, "bob").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let code = totp_code(&app, &secret, 0);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "bob", "totp").await;
    let r = login_code_finish(&browser, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        browser.get("/api/v1/session").await.body["methods"],
        json!(["totp"])
    );
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "bob", "totp").await;
    let r = login_code_finish(&other, &ceremony, &code, None).await;
    assert_eq!(r.status, 401, "the same step twice: {}", r.text);
    // The previous step (still inside the window) is older than the used one: refused too.
    let previous = totp_code(&app, &secret, -1);
    let ceremony = login_code_start(&other, "bob", "totp").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &previous, None)
            .await
            .status,
        401
    );
}

async fn the_totp_enrolment_code_cannot_be_reused_to_log_in(app: TestApp) {
    account(&app, "carol").await;
    let start = app.post("/api/v1/account/totp/start", &json!({})).await;
    let secret = start.body["secret"].as_str().unwrap().to_owned();
    let code = totp_code(&app, &secret, 0);
    assert_eq!(
        app.post(
            "/api/v1/account/totp/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code})
        )
        .await
        .status,
        204
    );
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "carol", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &code, None)
            .await
            .status,
        401
    );
}

async fn parallel_uses_of_one_totp_code_let_exactly_one_through(app: TestApp) {
    account(&app, "dave").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let code = totp_code(&app, &secret, 0);
    let attempts = (0..8).map(|_| {
        let browser = app.new_browser();
        let code = code.clone();
        async move {
            let ceremony = login_code_start(&browser, "dave", "totp").await;
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
}

async fn the_totp_window_is_one_step_either_side(app: TestApp) {
    account(&app, "erin").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(300);
    let browser = app.new_browser();
    let too_old = totp_code(&app, &secret, -2);
    let ceremony = login_code_start(&browser, "erin", "totp").await;
    if too_old != totp_code(&app, &secret, -1)
        && too_old != totp_code(&app, &secret, 0)
        && too_old != totp_code(&app, &secret, 1)
    {
        assert_eq!(
            login_code_finish(&browser, &ceremony, &too_old, None)
                .await
                .status,
            401
        );
    }
    let next = totp_code(&app, &secret, 1);
    let ceremony = login_code_start(&browser, "erin", "totp").await;
    assert_eq!(
        login_code_finish(&browser, &ceremony, &next, None)
            .await
            .status,
        200
    );
}

async fn totp_secrets_are_encrypted_at_rest(app: TestApp) {
    use sea_orm::EntityTrait;
    account(&app, "frank").await;
    let secret = enable_totp(&app, &app.browser).await;
    let raw = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_ref()
        .to_vec();
    let db = app.db().await;
    let row = entity::account::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let stored = row.totp_secret.unwrap();
    assert!(
        !stored.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the raw secret is not in the row"
    );
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
}

async fn turning_totp_off_revokes_other_sessions(app: TestApp) {
    account(&app, "nina").await;
    let secret = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "nina", "totp").await;
    assert_eq!(
        login_code_finish(&other, &ceremony, &totp_code(&app, &secret, 0), None)
            .await
            .status,
        200
    );
    assert_eq!(app.delete("/api/v1/account/totp").await.status, 204);
    assert_eq!(
        other.get("/api/v1/session").await.status,
        401,
        "the other session ended"
    );
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "the current one stays"
    );
    assert_eq!(app.get("/api/v1/account").await.body["totp_enabled"], false);
}

/// Setting up an app again replaces the secret: the old one's codes stop working and whoever
/// logged in elsewhere is logged out, as when the way in is turned off.
async fn a_new_authenticator_app_replaces_the_old_secret_and_its_sessions(app: TestApp) {
    account(&app, "omar").await;
    let old = enable_totp(&app, &app.browser).await;
    app.clock.advance_secs(30);
    let other = app.new_browser();
    let ceremony = login_code_start(&other, "omar", "totp").await;
    let r = login_code_finish(&other, &ceremony, &totp_code(&app, &old, 0), None).await;
    assert_eq!(r.status, 200, "{}", r.text);

    app.clock.advance_secs(30);
    let new = enable_totp(&app, &app.browser).await;
    assert_ne!(new, old);
    assert_eq!(other.get("/api/v1/session").await.status, 401);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let events = app.get("/api/v1/account/events?limit=100").await;
    let events = events.body.as_array().unwrap();
    let revoked = events
        .iter()
        .find(|e| e["kind"] == "session_revoked")
        .unwrap();
    assert_eq!(
        revoked["detail"],
        json!({"count": 1, "reason": "totp_replaced"})
    );
    let enabled: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "totp_enabled")
        .map(|e| e["detail"]["replaced"].clone())
        .collect();
    assert_eq!(enabled, vec![json!(true), json!(false)], "newest first");

    app.clock.advance_secs(30);
    let browser = app.new_browser();
    let ceremony = login_code_start(&browser, "omar", "totp").await;
    let r = login_code_finish(&browser, &ceremony, &totp_code(&app, &old, 0), None).await;
    assert_eq!(r.status, 401, "the old secret's code");
    let ceremony = login_code_start(&browser, "omar", "totp").await;
    let r = login_code_finish(&browser, &ceremony, &totp_code(&app, &new, 0), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
