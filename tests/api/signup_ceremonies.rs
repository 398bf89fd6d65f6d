//! Sign-up ceremonies that are refused: tampered registrations, a second or concurrent finish,
//! a credential already registered to another account, and an expired ceremony.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        each_tampered_registration_is_refused_and_creates_nothing,
        finishing_a_signup_ceremony_twice_lets_only_one_through,
        concurrent_finishes_of_one_signup_ceremony_succeed_exactly_once,
        a_credential_registered_to_another_account_is_refused,
        an_expired_signup_ceremony_is_refused,
    ]
}

async fn each_tampered_registration_is_refused_and_creates_nothing(app: TestApp) {
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "origin",
            Tamper {
                origin: Some("http://evil.localhost:1".into()),
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
                client_data_type: Some("webauthn.get".into()),
                ..Default::default()
            },
        ),
        (
            "challenge",
            Tamper {
                challenge: Some(vec![7; 32]),
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
        // WebAuthn L3 §6.5.1: credentialIdLength MUST be <= 1023 (webauthn-rs takes 4096).
        (
            "credential id of 1024 bytes",
            Tamper {
                credential_id_len: Some(1024),
                ..Default::default()
            },
        ),
        (
            "empty credential id",
            Tamper {
                credential_id_len: Some(0),
                ..Default::default()
            },
        ),
    ];
    for (what, tamper) in cases {
        let browser = app.new_browser();
        let start = browser
            .post("/api/v1/signup/passkey/start", &json!({"username": "erin"}))
            .await;
        let mut auth = app.authenticator();
        let credential = auth.register(&start.body["options"], &tamper).unwrap();
        let r = browser
            .post(
                "/api/v1/signup/passkey/finish",
                &json!({"ceremony": start.body["ceremony"], "credential": credential}),
            )
            .await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.error(), "invalid_credential", "{what}");
        assert!(r.set_cookie().is_none(), "{what}: no session");
        assert_eq!(browser.get("/api/v1/session").await.status, 401, "{what}");
    }
    // Nothing was created: the name is still free. The longest id allowed is fine.
    let longest = Tamper {
        credential_id_len: Some(1023),
        ..Default::default()
    };
    let r = app
        .signup_passkey_with("erin", &mut app.authenticator(), &longest)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

async fn finishing_a_signup_ceremony_twice_lets_only_one_through(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "frank"}),
        )
        .await;
    let mut auth = app.authenticator();
    let credential = auth
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    assert_eq!(
        app.post("/api/v1/signup/passkey/finish", &body)
            .await
            .status,
        201
    );
    let again = app
        .new_browser()
        .post("/api/v1/signup/passkey/finish", &body)
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error(), "invalid_ceremony");
}

async fn concurrent_finishes_of_one_signup_ceremony_succeed_exactly_once(app: TestApp) {
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "grace"}),
        )
        .await;
    let mut auth = app.authenticator();
    let credential = auth
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
    let attempts = (0..10).map(|_| {
        let browser = app.new_browser();
        let body = body.clone();
        async move {
            browser
                .post("/api/v1/signup/passkey/finish", &body)
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 400),
        "{statuses:?}"
    );
}

async fn a_credential_registered_to_another_account_is_refused(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("heidi", &mut auth).await.status, 201);
    let existing = auth.credential_ids()[0].clone();
    let browser = app.new_browser();
    let start = browser
        .post("/api/v1/signup/passkey/start", &json!({"username": "ivan"}))
        .await;
    let tamper = Tamper {
        reuse_credential: Some(existing),
        ..Default::default()
    };
    let credential = auth.register(&start.body["options"], &tamper).unwrap();
    let r = browser
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.error(), "credential_exists");
    assert!(r.set_cookie().is_none());
    // The transaction rolled back: "ivan" was not created.
    let retry = browser
        .post("/api/v1/signup/passkey/start", &json!({"username": "ivan"}))
        .await;
    assert_eq!(retry.status, 200);
}

async fn an_expired_signup_ceremony_is_refused(app: TestApp) {
    let start = app
        .post("/api/v1/signup/passkey/start", &json!({"username": "judy"}))
        .await;
    let mut auth = app.authenticator();
    let credential = auth
        .register(&start.body["options"], &Tamper::default())
        .unwrap();
    app.clock.advance_secs(301);
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_ceremony");
}
