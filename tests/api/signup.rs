//! Signing up with a passkey: the options, usernames (taken, invalid, normalised, raced for),
//! and the session a browser already carried.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_signs_up_with_a_passkey_and_is_logged_in,
        signup_options_ask_for_a_discoverable_passkey_with_user_verification,
        a_taken_username_is_refused,
        invalid_usernames_are_refused,
        usernames_are_normalised_before_the_uniqueness_check,
        two_signups_racing_for_one_username_create_one_account,
        signing_up_in_a_logged_in_browser_ends_its_other_session,
    ]
}

async fn a_person_signs_up_with_a_passkey_and_is_logged_in(app: TestApp) {
    let mut auth = app.authenticator();
    let r = app.signup_passkey("Alice", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let account = &r.body["account"];
    assert_eq!(account["username"], "alice");
    assert_eq!(account["passkeys"], 1);
    assert_eq!(account["password_set"], false);
    assert_eq!(account["totp_enabled"], false);
    assert!(uuid::Uuid::parse_str(account["id"].as_str().unwrap()).is_ok());
    let cookie = r.set_cookie().expect("a session cookie");
    assert!(cookie.starts_with("sesame_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = app.get("/api/v1/session").await;
    assert_eq!(session.status, 200);
    assert_eq!(session.body["username"], "alice");
    assert_eq!(session.body["methods"], json!(["passkey"]));
    assert_eq!(session.header("x-sesame-user"), Some("alice"));
    assert_eq!(
        session.header("x-sesame-account-id"),
        account["id"].as_str()
    );
    let me = app.get("/api/v1/account").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "alice");
}

async fn signup_options_ask_for_a_discoverable_passkey_with_user_verification(app: TestApp) {
    let a = app
        .post("/api/v1/signup/passkey/start", &json!({"username": "bob"}))
        .await;
    let b = app
        .post("/api/v1/signup/passkey/start", &json!({"username": "bob"}))
        .await;
    assert_eq!(a.status, 200);
    let pk = &a.body["options"]["publicKey"];
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(pk["rp"]["id"], "localhost");
    // The user handle is random per attempt and never the username.
    let handle = pk["user"]["id"].as_str().unwrap();
    assert_ne!(
        handle,
        b.body["options"]["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
    );
    assert!(
        !handle.contains("Ym9i"),
        "the handle must not encode the username"
    );
    assert_ne!(a.body["ceremony"], b.body["ceremony"]);
}

async fn a_taken_username_is_refused(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("carol", &mut auth).await.status, 201);
    let other = app.new_browser();
    let r = other
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "carol"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "username_taken");
}

async fn invalid_usernames_are_refused(app: TestApp) {
    for bad in ["ab", "has space", "sl/ash", "é-accent", &"x".repeat(65)] {
        let r = app
            .post("/api/v1/signup/passkey/start", &json!({"username": bad}))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error(), "invalid_username", "{bad}");
    }
}

async fn usernames_are_normalised_before_the_uniqueness_check(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("dave", &mut auth).await.status, 201);
    // Full-width "ＤＡＶＥ" is "dave" after NFKC and lower-casing.
    let r = app
        .new_browser()
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "ＤＡＶＥ"}),
        )
        .await;
    assert_eq!(r.error(), "username_taken");
}

async fn two_signups_racing_for_one_username_create_one_account(app: TestApp) {
    let a = app.new_browser();
    let b = app.new_browser();
    let sa = a
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "mallory"}),
        )
        .await;
    let sb = b
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "mallory"}),
        )
        .await;
    let (mut auth_a, mut auth_b) = (app.authenticator(), app.authenticator());
    let ca = auth_a
        .register(&sa.body["options"], &Tamper::default())
        .unwrap();
    let cb = auth_b
        .register(&sb.body["options"], &Tamper::default())
        .unwrap();
    let ra = a
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": sa.body["ceremony"], "credential": ca}),
        )
        .await;
    let rb = b
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": sb.body["ceremony"], "credential": cb}),
        )
        .await;
    assert_eq!(ra.status, 201);
    assert_eq!(rb.status, 409);
    assert_eq!(rb.error(), "username_taken");
}

/// A sign-up issues a new session as a log-in does, and like a log-in as another account it
/// ends the session of the other account the browser carried (API.md: "a replaced token stops
/// working"), with a passkey and with a code alike.
async fn signing_up_in_a_logged_in_browser_ends_its_other_session(app: TestApp) {
    let mut alice = app.authenticator();
    assert_eq!(app.signup_passkey("alice", &mut alice).await.status, 201);
    let mut bob = app.authenticator();
    assert_eq!(app.signup_passkey("bob", &mut bob).await.status, 201);
    let r =
        sesame_tests::flows::signup_by_email(&app, &app.browser, "carol", "c@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get("/api/v1/session").await.body["username"], "carol");
    for (name, auth) in [("alice", &mut alice), ("bob", &mut bob)] {
        let browser = app.new_browser();
        let r = browser
            .login_passkey(Some(name), auth, &Tamper::default())
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let sessions = browser.get("/api/v1/account/sessions").await;
        assert_eq!(sessions.status, 200);
        let sessions = sessions.body.as_array().unwrap();
        assert_eq!(sessions.len(), 1, "{name}: {sessions:?}");
        assert_eq!(sessions[0]["current"], true);
    }
}
