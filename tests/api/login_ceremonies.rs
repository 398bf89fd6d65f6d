//! The log-in ceremony is single-use: a refusal uses it up, concurrent finishes succeed once,
//! only the log-in endpoint finishes it, and it expires.

use serde_json::json;
use sesame_tests::{Tamper, TestApp, harness::TestFn, tests};

use crate::login::signed_up;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_refused_assertion_uses_up_its_ceremony,
        concurrent_finishes_of_one_login_ceremony_succeed_exactly_once,
        a_login_ceremony_can_only_be_finished_by_the_login_endpoint,
        an_expired_login_ceremony_is_refused,
    ]
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
