use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sesame_tests::{SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_person_logs_in_with_username_and_passkey,
        a_person_logs_in_without_a_username_with_a_discoverable_passkey,
        each_tampered_assertion_is_refused_with_no_session,
        a_replayed_assertion_is_refused,
        a_refused_assertion_uses_up_its_ceremony,
        concurrent_finishes_of_one_login_ceremony_succeed_exactly_once,
        another_accounts_passkey_cannot_log_in_as_this_account,
        a_user_handle_naming_another_account_is_refused,
        a_counter_regression_is_refused_also_after_a_restart,
        an_unknown_username_gets_options_shaped_like_a_known_one,
        a_login_ceremony_can_only_be_finished_by_the_login_endpoint,
        an_expired_login_ceremony_is_refused,
        the_stored_passkey_records_its_last_use,
        soft_passkey_from_webauthn_authenticator_rs_signs_up_and_logs_in,
    ]
}

async fn signed_up(app: &TestApp, name: &str) -> SoftAuthenticator {
    let mut auth = app.authenticator();
    let r = app.new_browser().signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    auth
}

async fn a_person_logs_in_with_username_and_passkey(app: TestApp) {
    let mut auth = signed_up(&app, "alice").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "alice"}))
        .await;
    let allowed = start.body["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(allowed.len(), 1);
    assert_eq!(
        allowed[0]["id"],
        URL_SAFE_NO_PAD.encode(&auth.credential_ids()[0])
    );
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "alice");
    assert!(r.set_cookie().unwrap().contains("HttpOnly"));
    assert_eq!(app.get("/api/v1/session").await.body["username"], "alice");
}

async fn a_person_logs_in_without_a_username_with_a_discoverable_passkey(app: TestApp) {
    let mut auth = signed_up(&app, "bob").await;
    let start = app.post("/api/v1/login/passkey/start", &json!({})).await;
    assert_eq!(
        start.body["options"]["publicKey"]["allowCredentials"],
        json!([])
    );
    let r = app.login_passkey(None, &mut auth, &Tamper::default()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "bob");
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

/// The ceremony is consumed by the transaction that issues the session, and by a refusal too:
/// a challenge answers at most once, even when the first answer was wrong.
async fn a_refused_assertion_uses_up_its_ceremony(app: TestApp) {
    let mut auth = signed_up(&app, "dina").await;
    for username in [json!("dina"), json!(null)] {
        let start = app
            .post(
                "/api/v1/login/passkey/start",
                &json!({"username": username}),
            )
            .await;
        let options = &start.body["options"];
        let wrong = Tamper {
            sign_with_other_key: true,
            ..Default::default()
        };
        let refused = app
            .new_browser()
            .post(
                "/api/v1/login/passkey/finish",
                &json!({"ceremony": start.body["ceremony"],
                        "credential": auth.assert(options, &wrong).unwrap()}),
            )
            .await;
        assert_eq!(refused.status, 401, "{username}");
        assert_eq!(refused.error(), "invalid_credential");
        let browser = app.new_browser();
        let right = browser
            .post(
                "/api/v1/login/passkey/finish",
                &json!({"ceremony": start.body["ceremony"],
                        "credential": auth.assert(options, &Tamper::default()).unwrap()}),
            )
            .await;
        assert_eq!(right.error(), "invalid_ceremony", "{username}");
        assert!(right.set_cookie().is_none());
        assert_eq!(browser.get("/api/v1/session").await.status, 401);
    }
    // A fresh ceremony still works.
    assert_eq!(
        app.login_passkey(Some("dina"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
}

/// With a counter (which also stops all but one) and without one, as synced passkeys have:
/// then only the ceremony's single use does.
async fn concurrent_finishes_of_one_login_ceremony_succeed_exactly_once(app: TestApp) {
    for (name, counter_start) in [("erin", 1), ("erik", 0)] {
        let mut auth = app.authenticator().with_counter_start(counter_start);
        let r = app.new_browser().signup_passkey(name, &mut auth).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let start = app
            .post("/api/v1/login/passkey/start", &json!({"username": name}))
            .await;
        let credential = auth
            .assert(&start.body["options"], &Tamper::default())
            .unwrap();
        let body = json!({"ceremony": start.body["ceremony"], "credential": credential});
        let attempts = (0..12).map(|_| {
            let browser = app.new_browser();
            let body = body.clone();
            async move {
                let r = browser.post("/api/v1/login/passkey/finish", &body).await;
                (r.status, browser.get("/api/v1/session").await.status)
            }
        });
        let results = futures::future::join_all(attempts).await;
        assert_eq!(
            results.iter().filter(|(s, _)| *s == 200).count(),
            1,
            "{name}: {results:?}"
        );
        assert_eq!(
            results.iter().filter(|(_, s)| *s == 200).count(),
            1,
            "{name}: one session only: {results:?}"
        );
    }
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

fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => json!("s"),
        Value::Number(_) => json!(0),
        other => other.clone(),
    }
}

async fn an_unknown_username_gets_options_shaped_like_a_known_one(app: TestApp) {
    let mut auth = signed_up(&app, "ivan").await;
    let known = app
        .post("/api/v1/login/passkey/start", &json!({"username": "ivan"}))
        .await;
    let mut unknown = app
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": "nobody-here"}),
        )
        .await;
    // Unknown names get stand-in ids; with FakePasskeyDistribution some names get none, so
    // look for one that gets some (as most real accounts have).
    for i in 0..20 {
        if !unknown.body["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        unknown = app
            .post(
                "/api/v1/login/passkey/start",
                &json!({"username": format!("nobody{i}")}),
            )
            .await;
    }
    assert_eq!(known.status, unknown.status);
    assert_eq!(shape(&known.body), shape(&unknown.body));
    // Stable per username.
    let name = "someone-else";
    let a = app
        .post("/api/v1/login/passkey/start", &json!({"username": name}))
        .await;
    let b = app
        .post("/api/v1/login/passkey/start", &json!({"username": name}))
        .await;
    assert_eq!(
        a.body["options"]["publicKey"]["allowCredentials"],
        b.body["options"]["publicKey"]["allowCredentials"]
    );
    // Finishing a stand-in ceremony fails like a bad passkey.
    let own = auth.credential_ids()[0].clone();
    let credential = auth
        .assert_with(&own, &a.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": a.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_credential");
}

async fn a_login_ceremony_can_only_be_finished_by_the_login_endpoint(app: TestApp) {
    let mut auth = signed_up(&app, "judy").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "judy"}))
        .await;
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .unwrap();
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert!(r.status == 400 || r.status == 401, "{}", r.text);
    // The login ceremony was not consumed by the wrong endpoint.
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn an_expired_login_ceremony_is_refused(app: TestApp) {
    let mut auth = signed_up(&app, "ken").await;
    let start = app
        .post("/api/v1/login/passkey/start", &json!({"username": "ken"}))
        .await;
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .unwrap();
    app.clock.advance_secs(5 * 60 + 1);
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.error(), "invalid_ceremony");
}

async fn the_stored_passkey_records_its_last_use(app: TestApp) {
    use sea_orm::EntityTrait;
    let mut auth = signed_up(&app, "leo").await;
    let db = app.db().await;
    let before = entity::passkey::Entity::find().all(&db).await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(before[0].last_used_at.is_none());
    assert!(before[0].backup_eligible && before[0].backup_state);
    assert_eq!(
        app.login_passkey(Some("leo"), &mut auth, &Tamper::default())
            .await
            .status,
        200
    );
    let after = entity::passkey::Entity::find().all(&db).await.unwrap();
    assert!(after[0].last_used_at.is_some());
    assert_eq!(after[0].sign_count, 1);
}

async fn soft_passkey_from_webauthn_authenticator_rs_signs_up_and_logs_in(app: TestApp) {
    use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};
    use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};
    let origin = url::Url::parse(&app.origin).unwrap();
    let mut wa = SoftPasskey::new(true);
    let start = app
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "softy"}),
        )
        .await;
    let mut options: CreationChallengeResponse =
        serde_json::from_value(start.body["options"].clone()).unwrap();
    // SoftPasskey cannot make resident keys; the server does not need one to verify.
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = None;
    }
    let credential = wa.do_registration(origin.clone(), options).unwrap();
    let r = app
        .post(
            "/api/v1/signup/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let browser = app.new_browser();
    let start = browser
        .post("/api/v1/login/passkey/start", &json!({"username": "softy"}))
        .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start.body["options"].clone()).unwrap();
    let assertion = wa.do_authentication(origin, options).unwrap();
    let r = browser
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "softy");
}
