use serde_json::json;
use sesame_tests::{Browser, SoftAuthenticator, Tamper, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        logout_deletes_the_session_server_side,
        every_log_in_issues_a_new_token,
        a_log_in_while_logged_in_reauthenticates_and_retires_the_old_token,
        an_idle_session_ends,
        a_short_idle_time_keeps_a_session_in_use_alive,
        a_session_ends_at_its_absolute_lifetime_even_when_used,
        the_session_check_needs_a_valid_cookie,
        only_a_hash_of_the_token_is_stored,
        a_log_in_beyond_the_session_limit_ends_the_least_recently_used_session,
        a_session_limit_of_zero_ends_no_session,
    ]
}

async fn signed_up(app: &TestApp, name: &str) -> (SoftAuthenticator, String) {
    let mut auth = app.authenticator();
    let r = app.signup_passkey(name, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (auth, cookie_value(r.set_cookie().unwrap()))
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

async fn session_status_with(browser: &Browser, token: &str) -> u16 {
    let r = browser
        .client
        .get(format!("{}/api/v1/session", browser.base))
        .header("cookie", format!("sesame_session={token}"))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

async fn logout_deletes_the_session_server_side(app: TestApp) {
    let (_auth, token) = signed_up(&app, "alice").await;
    let r = app.post("/api/v1/logout", &json!({})).await;
    assert_eq!(r.status, 204);
    assert!(r.set_cookie().unwrap().contains("Max-Age=0"));
    // Even someone who kept the old cookie is out.
    assert_eq!(
        session_status_with(&Browser::new(app.port), &token).await,
        401
    );
}

async fn every_log_in_issues_a_new_token(app: TestApp) {
    let (mut auth, first) = signed_up(&app, "bob").await;
    let other = app.new_browser();
    let r = other
        .login_passkey(Some("bob"), &mut auth, &Tamper::default())
        .await;
    let second = cookie_value(r.set_cookie().unwrap());
    assert_ne!(first, second);
    assert!(second.len() >= 22, "≥128 bits");
    // Two devices, two sessions.
    let list_a = session_status_with(&Browser::new(app.port), &first).await;
    let list_b = session_status_with(&Browser::new(app.port), &second).await;
    assert_eq!((list_a, list_b), (200, 200));
}

async fn a_log_in_while_logged_in_reauthenticates_and_retires_the_old_token(app: TestApp) {
    let (mut auth, first) = signed_up(&app, "carol").await;
    let before = app.get("/api/v1/session").await;
    app.clock.advance_secs(120);
    let r = app
        .login_passkey(Some("carol"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200);
    let second = cookie_value(r.set_cookie().unwrap());
    assert_ne!(first, second);
    let after = app.get("/api/v1/session").await;
    assert_eq!(
        after.body["session_id"], before.body["session_id"],
        "the same session, re-authenticated"
    );
    assert_ne!(
        after.body["authenticated_at"],
        before.body["authenticated_at"]
    );
    assert_eq!(
        session_status_with(&Browser::new(app.port), &first).await,
        401,
        "the replaced token stops working"
    );
}

async fn an_idle_session_ends(app: TestApp) {
    let (_auth, _) = signed_up(&app, "dave").await;
    app.clock
        .advance_secs(app.config.session_idle_secs as i64 - 10);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    app.clock
        .advance_secs(app.config.session_idle_secs as i64 + 1);
    let r = app.get("/api/v1/session").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
}

/// With an idle time under a minute, a session used more often than that stays alive, and
/// one left alone for the idle time ends.
async fn a_short_idle_time_keeps_a_session_in_use_alive(mut app: TestApp) {
    app.restart_with(|c| c.session_idle_secs = 30).await;
    let (_auth, _) = signed_up(&app, "ivy").await;
    for step in 1..=6 {
        app.clock.advance_secs(20);
        let r = app.get("/api/v1/session").await;
        assert_eq!(r.status, 200, "used every 20 s, after {} s", step * 20);
    }
    app.clock.advance_secs(31);
    assert_eq!(app.get("/api/v1/session").await.status, 401);
}

async fn a_session_ends_at_its_absolute_lifetime_even_when_used(app: TestApp) {
    let (_auth, _) = signed_up(&app, "erin").await;
    let step = app.config.session_idle_secs as i64 / 2;
    let mut elapsed = 0;
    while elapsed + step < app.config.session_lifetime_secs as i64 {
        app.clock.advance_secs(step);
        elapsed += step;
        assert_eq!(
            app.get("/api/v1/account").await.status,
            200,
            "still alive after {elapsed} s"
        );
    }
    app.clock
        .advance_secs(app.config.session_lifetime_secs as i64 - elapsed + 1);
    assert_eq!(app.get("/api/v1/account").await.status, 401);
}

async fn the_session_check_needs_a_valid_cookie(app: TestApp) {
    let r = app.get("/api/v1/session").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
    assert!(r.header("x-sesame-user").is_none());
    assert_eq!(
        session_status_with(&Browser::new(app.port), "not-a-real-token").await,
        401
    );
    assert_eq!(app.get("/api/v1/account").await.status, 401);
}

async fn only_a_hash_of_the_token_is_stored(app: TestApp) {
    use sea_orm::EntityTrait;
    let (_auth, token) = signed_up(&app, "frank").await;
    let db = app.db().await;
    let sessions = entity::session::Entity::find().all(&db).await.unwrap();
    assert_eq!(sessions.len(), 1);
    // SHA-256 of the cookie's token (OWASP ASVS 5.0 V7.2.4), not the token or its bytes.
    use sha2::Digest;
    let expected = sha2::Sha256::digest(token.as_bytes()).to_vec();
    assert_eq!(sessions[0].token_hash, expected);
    assert_ne!(sessions[0].token_hash, token.as_bytes());
    // What is stored does not log in: neither as the cookie, nor in the token's encoding.
    use base64::Engine;
    let stored = &sessions[0].token_hash;
    for forged in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(stored),
        stored.iter().map(|b| format!("{b:02x}")).collect(),
    ] {
        assert_eq!(
            session_status_with(&Browser::new(app.port), &forged).await,
            401
        );
    }
    assert_eq!(
        session_status_with(&Browser::new(app.port), &token).await,
        200
    );
}

/// `SESAME_SESSION_LIMIT` (here 3): a fourth log-in ends the session used least recently (not
/// the oldest one, which was used since), and its `login` event says that one ended. A
/// re-authentication in a browser that has a session makes no new one and ends nothing.
async fn a_log_in_beyond_the_session_limit_ends_the_least_recently_used_session(mut app: TestApp) {
    app.restart_with(|c| c.session_limit = 3).await;
    let (mut auth, _) = signed_up(&app, "lena").await;
    let second = log_in_lena(app.new_browser(), &mut auth).await;
    let third = log_in_lena(app.new_browser(), &mut auth).await;
    // The first session is used after the others were made (its use is recorded once it is a
    // minute old).
    app.clock.advance_secs(120);
    assert_eq!(app.get("/api/v1/session").await.status, 200);
    let fourth = log_in_lena(app.new_browser(), &mut auth).await;

    assert_eq!(second.get("/api/v1/session").await.status, 401);
    for browser in [&app.browser, &third, &fourth] {
        assert_eq!(browser.get("/api/v1/session").await.status, 200);
    }
    let sessions = fourth.get("/api/v1/account/sessions").await.body;
    assert_eq!(sessions.as_array().map(Vec::len), Some(3), "{sessions}");
    let events = fourth.get("/api/v1/account/events").await.body;
    assert_eq!(events[0]["kind"], "login", "{events}");
    assert_eq!(events[0]["detail"]["sessions_ended"], 1, "{events}");

    let fourth = log_in_lena(fourth, &mut auth).await;
    let sessions = fourth.get("/api/v1/account/sessions").await.body;
    assert_eq!(sessions.as_array().map(Vec::len), Some(3), "{sessions}");
    assert_eq!(third.get("/api/v1/session").await.status, 200);
    let events = fourth.get("/api/v1/account/events").await.body;
    assert!(
        events[0]["detail"].get("sessions_ended").is_none(),
        "{events}"
    );
}

/// `SESAME_SESSION_LIMIT=0` is no limit, not a limit of one: every log-in keeps its session.
async fn a_session_limit_of_zero_ends_no_session(mut app: TestApp) {
    app.restart_with(|c| c.session_limit = 0).await;
    let (mut auth, _) = signed_up(&app, "lena").await;
    let second = log_in_lena(app.new_browser(), &mut auth).await;
    let third = log_in_lena(app.new_browser(), &mut auth).await;
    for browser in [&app.browser, &second, &third] {
        assert_eq!(browser.get("/api/v1/session").await.status, 200);
    }
    let events = third.get("/api/v1/account/events").await.body;
    assert!(
        events[0]["detail"].get("sessions_ended").is_none(),
        "{events}"
    );
}

async fn log_in_lena(browser: Browser, auth: &mut SoftAuthenticator) -> Browser {
    let r = browser
        .login_passkey(Some("lena"), auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    browser
}
