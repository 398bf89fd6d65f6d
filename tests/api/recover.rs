//! The administrator's recovery link (`sesame account recovery`, issued by the real binary):
//! `POST /api/v1/recover/start` and `/finish` add one new passkey and log in, once, within 30
//! minutes; the person's other sessions end.

use serde_json::{Value, json};
use sesame_tests::{
    Browser, Resp, SoftAuthenticator, Tamper, TestApp, flows::signup_by_email, harness::TestFn,
    logs, tests,
};

use crate::admin::sesame;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_recovery_link_adds_a_passkey_and_logs_in,
        a_recovery_link_works_only_once,
        two_started_recoveries_of_one_link_finish_at_most_once,
        a_recovery_link_expires_after_30_minutes,
        a_wrong_token_is_an_invalid_ceremony,
        the_recover_page_is_served_and_the_token_never_reaches_the_log,
        redeeming_in_a_browser_logged_in_as_another_account_ends_that_session,
    ]
}

/// Sign `name` up by email in a browser of its own; returns that browser.
pub(crate) async fn person(app: &TestApp, name: &str) -> Browser {
    let browser = app.new_browser();
    let r = signup_by_email(app, &browser, name, &format!("{name}@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    browser
}

/// Issue a link with the real binary; returns its token.
pub(crate) async fn issue(app: &TestApp, name: &str) -> String {
    let out = sesame(app, &["account", "recovery", name, "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    let link = out.json()["link"].as_str().expect("a link").to_owned();
    link.rsplit_once("token=")
        .map(|(_, t)| t.to_owned())
        .expect("token")
}

pub(crate) async fn start(browser: &Browser, token: &str) -> Resp {
    browser
        .post("/api/v1/recover/start", &json!({"token": token}))
        .await
}

pub(crate) async fn finish(browser: &Browser, start: &Resp, auth: &mut SoftAuthenticator) -> Resp {
    let credential = auth
        .register(&start.body["options"], &Default::default())
        .expect("register");
    browser
        .post(
            "/api/v1/recover/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential, "label": "New phone"}),
        )
        .await
}

fn kinds(events: &Value) -> Vec<String> {
    events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect()
}

async fn a_recovery_link_adds_a_passkey_and_logs_in(app: TestApp) {
    let old = person(&app, "hana").await;
    let token = issue(&app, "hana").await;

    let browser = app.new_browser();
    let started = start(&browser, &token).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let options = &started.body["options"]["publicKey"];
    assert_eq!(options["user"]["name"], "hana");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");

    let mut auth = app.authenticator();
    let r = finish(&browser, &started, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["account"]["username"], "hana");
    assert_eq!(r.body["account"]["passkeys"], 1);
    assert!(r.set_cookie().is_some_and(|c| c.contains("HttpOnly")));
    assert_eq!(
        browser.get("/api/v1/session").await.body["username"],
        "hana"
    );

    // Every other session of the account ended.
    assert_eq!(old.get("/api/v1/session").await.status, 401);
    // The new passkey logs in.
    let r = app
        .new_browser()
        .login_passkey(Some("hana"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let passkeys = browser.get("/api/v1/account/passkeys").await;
    assert_eq!(passkeys.body[0]["label"], "New phone");

    let events = kinds(&browser.get("/api/v1/account/events?limit=50").await.body);
    for kind in [
        "admin_recovery_issued",
        "passkey_added",
        "recovery_link_used",
    ] {
        assert!(
            events.iter().any(|k| k == kind),
            "{kind} missing from {events:?}"
        );
    }
}

async fn a_recovery_link_works_only_once(app: TestApp) {
    person(&app, "ivan").await;
    let token = issue(&app, "ivan").await;
    let browser = app.new_browser();
    let started = start(&browser, &token).await;
    let r = finish(&browser, &started, &mut app.authenticator()).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let again = start(&app.new_browser(), &token).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(again.error(), "invalid_ceremony");
    // The finished ceremony cannot be replayed either.
    let r = finish(&browser, &started, &mut app.authenticator()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
}

async fn two_started_recoveries_of_one_link_finish_at_most_once(app: TestApp) {
    person(&app, "jade").await;
    let token = issue(&app, "jade").await;
    let (a, b) = (app.new_browser(), app.new_browser());
    let (start_a, start_b) = (start(&a, &token).await, start(&b, &token).await);
    assert_eq!((start_a.status, start_b.status), (200, 200));
    let (mut auth_a, mut auth_b) = (app.authenticator(), app.authenticator());
    let (ra, rb) = tokio::join!(
        finish(&a, &start_a, &mut auth_a),
        finish(&b, &start_b, &mut auth_b)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400], "{} / {}", ra.text, rb.text);
    let loser = if ra.status == 400 { &ra } else { &rb };
    assert_eq!(loser.error(), "invalid_ceremony");
    let winner = if ra.status == 201 { &a } else { &b };
    let passkeys = winner.get("/api/v1/account/passkeys").await;
    assert_eq!(
        passkeys.body.as_array().map(Vec::len),
        Some(1),
        "exactly one passkey was added"
    );
}

async fn a_recovery_link_expires_after_30_minutes(app: TestApp) {
    person(&app, "kai").await;
    let token = issue(&app, "kai").await;
    app.clock.advance_secs(29 * 60);
    let early = start(&app.new_browser(), &token).await;
    assert_eq!(
        early.status, 200,
        "still valid after 29 minutes: {}",
        early.text
    );
    app.clock.advance_secs(2 * 60);
    let late = start(&app.new_browser(), &token).await;
    assert_eq!(late.status, 400, "{}", late.text);
    assert_eq!(late.error(), "invalid_ceremony");
    // A ceremony opened before the link expired cannot outlive it.
    let r = finish(&app.new_browser(), &early, &mut app.authenticator()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.error(), "invalid_ceremony");
}

async fn a_wrong_token_is_an_invalid_ceremony(app: TestApp) {
    person(&app, "lea").await;
    let token = issue(&app, "lea").await;
    let mut wrong = token.clone();
    wrong.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    for bad in [wrong.as_str(), "", "not-a-token", &"x".repeat(500)] {
        let r = start(&app.new_browser(), bad).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
        assert_eq!(r.error(), "invalid_ceremony", "{bad:?}");
    }
    let r = app
        .post(
            "/api/v1/recover/finish",
            &json!({"ceremony": "nope", "credential": {}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // The right token still works after the wrong ones.
    assert_eq!(start(&app.new_browser(), &token).await.status, 200);
}

async fn the_recover_page_is_served_and_the_token_never_reaches_the_log(app: TestApp) {
    person(&app, "ola").await;
    let token = issue(&app, "ola").await;
    let page = app.get(&format!("/recover?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.text.contains("/assets/recover.js"));
    let script = app.get("/assets/recover.js").await;
    assert_eq!(script.status, 200);

    let browser = app.new_browser();
    let started = start(&browser, &token).await;
    let r = finish(&browser, &started, &mut app.authenticator()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The log is being captured: the finish's request id is in it.
    let id = r.header("x-request-id").expect("a request id");
    assert!(logs::contains(id), "the log is not captured");
    assert!(
        !logs::contains(&token),
        "the recovery token reached the log"
    );
}

/// The browser that redeems a link may carry another account's session: it is replaced, and
/// ended server-side as any log-in as another account ends it (API.md: a replaced token stops
/// working).
async fn redeeming_in_a_browser_logged_in_as_another_account_ends_that_session(app: TestApp) {
    let browser = person(&app, "ola").await;
    let _pia = person(&app, "pia").await;
    let token = issue(&app, "pia").await;
    let started = start(&browser, &token).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let r = finish(&browser, &started, &mut app.authenticator()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(browser.get("/api/v1/session").await.body["username"], "pia");
    // Ola logs in elsewhere: hers is the only session left.
    let elsewhere = app.new_browser();
    let ceremony = sesame_tests::flows::login_code_start(&elsewhere, "ola", "email").await;
    let code = sesame_tests::flows::read_code(&app, "ola@example.com").await;
    let r = sesame_tests::flows::login_code_finish(&elsewhere, &ceremony, &code, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sessions = elsewhere.get("/api/v1/account/sessions").await;
    let sessions = sessions.body.as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["current"], true);
}
