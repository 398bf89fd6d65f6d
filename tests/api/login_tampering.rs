//! Passkey assertions that are refused: tampered, replayed, from another account's passkey, with
//! another account's user handle, or with a counter that went back (also after a restart, and to
//! zero while a ceremony waited).

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

use crate::login::signed_up;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        each_tampered_assertion_is_refused_with_no_session,
        a_replayed_assertion_is_refused,
        another_accounts_passkey_cannot_log_in_as_this_account,
        a_user_handle_naming_another_account_is_refused,
        a_counter_regression_is_refused_also_after_a_restart,
        a_count_of_zero_after_the_counter_moved_is_refused,
        a_passkey_cannot_change_its_backup_eligibility,
    ]
}

/// WebAuthn L3 §7.2 (the backup-eligibility step): backup eligibility is permanent for a
/// credential (§6.1.3), so an assertion whose BE flag differs from the one registered is
/// refused, on the log-in with a username as on the one without, and what the account page
/// shows (`device_bound`) stays true.
async fn a_passkey_cannot_change_its_backup_eligibility(app: TestApp) {
    let mut auth = app.authenticator().with_flags(false, false);
    assert_eq!(app.signup_passkey("erin", &mut auth).await.status, 201);
    let mut auth = auth.with_flags(true, false);
    for username in [Some("erin"), None] {
        let browser = app.new_browser();
        let r = browser
            .login_passkey(username, &mut auth, &Tamper::default())
            .await;
        assert_eq!(r.status, 401, "{username:?}: {}", r.text);
        assert_eq!(r.error(), "invalid_credential", "{username:?}");
        assert!(r.set_cookie().is_none(), "{username:?}");
    }
    let list = crate::account_passkeys::passkeys(&app).await;
    assert_eq!(list[0]["backup_eligible"], false);
    assert_eq!(list[0]["device_bound"], true);
    // The same authenticator with its flags as registered still logs in.
    let mut auth = auth.with_flags(false, false);
    let r = app
        .new_browser()
        .login_passkey(Some("erin"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn each_tampered_assertion_is_refused_with_no_session(app: TestApp) {
    let mut auth = signed_up(&app, "carol").await;
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "origin",
            Tamper {
                origin: Some("http://localhost:1".into()),
                ..Default::default()
            },
        ),
        (
            "rp id hash",
            Tamper {
                rp_id_for_hash: Some("example.com".into()),
                ..Default::default()
            },
        ),
        (
            "type",
            Tamper {
                client_data_type: Some("webauthn.create".into()),
                ..Default::default()
            },
        ),
        (
            "challenge",
            Tamper {
                challenge: Some(vec![1; 32]),
                ..Default::default()
            },
        ),
        (
            "no UV",
            Tamper {
                clear_uv: true,
                ..Default::default()
            },
        ),
        (
            "no UP",
            Tamper {
                clear_up: true,
                ..Default::default()
            },
        ),
        (
            "BS without BE",
            Tamper {
                backup_state_without_eligible: true,
                ..Default::default()
            },
        ),
        (
            "other key",
            Tamper {
                sign_with_other_key: true,
                ..Default::default()
            },
        ),
        (
            "corrupt signature",
            Tamper {
                corrupt_signature: true,
                ..Default::default()
            },
        ),
    ];
    for (what, tamper) in cases {
        for username in [Some("carol"), None] {
            let browser = app.new_browser();
            let r = browser.login_passkey(username, &mut auth, &tamper).await;
            assert_eq!(r.status, 401, "{what} {username:?}: {}", r.text);
            assert_eq!(r.error(), "invalid_credential", "{what}");
            assert!(r.set_cookie().is_none(), "{what}");
            assert_eq!(browser.get("/api/v1/session").await.status, 401);
        }
    }
    // The genuine authenticator still works afterwards.
    assert_eq!(
        app.login_passkey(Some("carol"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
}

async fn a_replayed_assertion_is_refused(app: TestApp) {
    let mut auth = signed_up(&app, "dave").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "dave"}))
        .await;
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/login/passkey/finish", &body).await.status,
        200
    );
    // The same request again: the ceremony is used up.
    let again = app
        .new_browser()
        .post("/api/v1/login/passkey/finish", &body)
        .await;
    assert_eq!(again.error(), "invalid_ceremony");
    // The same assertion against a fresh ceremony: wrong challenge.
    let fresh = app
        .post("/api/v1/login/passkey/start", &json!({"username": "dave"}))
        .await;
    let r = app
        .new_browser()
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": fresh.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_credential");
}

async fn another_accounts_passkey_cannot_log_in_as_this_account(app: TestApp) {
    let _alice = signed_up(&app, "frank").await;
    let mut mallory = signed_up(&app, "mallory").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "frank"}))
        .await;
    let own = mallory.credential_ids()[0].clone();
    let credential = mallory
        .assert_with(&own, &start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.set_cookie().is_none());
}

async fn a_user_handle_naming_another_account_is_refused(app: TestApp) {
    let victim = signed_up(&app, "grace").await;
    let mut mallory = signed_up(&app, "mallet").await;
    let victim_handle = victim
        .user_handle(&victim.credential_ids()[0])
        .unwrap()
        .to_vec();
    // Mallory's own (valid) signature, but a user handle that names Grace (WebAuthn L3 §7.2 step 6).
    let tamper = Tamper {
        user_handle: Some(victim_handle),
        ..Default::default()
    };
    let r = app.login_passkey(None, &mut mallory, &tamper).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    // Also when the username picked the account first (allowCredentials).
    let r = app
        .login_passkey(Some("mallet"), &mut mallory, &tamper)
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.error(), "invalid_credential");
    assert_eq!(app.get("/api/v1/session").await.status, 401);
    // Without the tampering the same passkey logs in by name.
    let r = app
        .login_passkey(Some("mallet"), &mut mallory, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn a_counter_regression_is_refused_also_after_a_restart(mut app: TestApp) {
    let mut auth = signed_up(&app, "heidi").await;
    let clone = auth.clone();
    for _ in 0..3 {
        assert_eq!(
            app.login_passkey(Some("heidi"), &mut auth, &Tamper::default())
                .await
                .status,
            200
        );
    }
    app.restart().await;
    // The clone still has the old counter: its next assertion carries signCount 1 (< 3).
    let mut clone = clone;
    let r = app
        .new_browser()
        .login_passkey(Some("heidi"), &mut clone, &Tamper::default())
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = app
        .new_browser()
        .login_passkey(None, &mut clone, &Tamper::default())
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    // The genuine authenticator, with a higher counter, still works.
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("heidi"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
}

/// WebAuthn L3 §7.2 step 22: a signCount of 0 over a stored non-zero count is a clone's sign,
/// also when the ceremony was started while the stored count was still 0.
async fn a_count_of_zero_after_the_counter_moved_is_refused(app: TestApp) {
    let mut auth = signed_up(&app, "ivy").await;
    let mut clone = auth.clone();
    // The clone's holder starts a log-in while the stored count is still 0 …
    let attacker = app.new_browser();
    let start = attacker
        .post("/api/v1/login/passkey/start", &json!({"username": "ivy"}))
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    // … the owner logs in meanwhile (stored count 1) …
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("ivy"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
    // … and the clone answers with signCount 0.
    let tamper = Tamper {
        counter: Some(0),
        ..Default::default()
    };
    let credential = clone.assert(&start.body["options"], &tamper).unwrap();
    let r = attacker
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.error(), "invalid_credential");
    assert_eq!(attacker.get("/api/v1/session").await.status, 401);
    // The stored count did not go back: the owner's next assertion (count 2) still works.
    assert_eq!(
        app.new_browser()
            .login_passkey(Some("ivy"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
}
