//! Scale-out: two `sesame` processes on one database (PostgreSQL, or the same SQLite file —
//! also a valid deployment on one machine) behave as one server. Ceremonies, sessions,
//! revocations and lock-out counts live in the database, so it does not matter which
//! instance a request reaches; the clean-up both run is idempotent. The lock-out and clean-up
//! tests are in `scale_out_lock_out.rs` and `scale_out_clean_up.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sesame_tests::{
    Browser, Resp, SoftAuthenticator, Tamper, TestApp,
    harness::TestFn,
    process::{ServerProcess, free_port},
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_ceremony_started_on_one_instance_finishes_on_the_other,
        a_session_from_one_instance_works_on_the_other_and_revocation_is_immediate,
    ]
}

/// Two processes on `app`'s database and key; each accepts both origins (same RP id
/// `localhost`), as instances behind one load balancer would.
pub(crate) async fn two_instances(app: &TestApp) -> (ServerProcess, ServerProcess) {
    two_instances_with(app, &[]).await
}

/// [`two_instances`] with `extra` settings for both.
pub(crate) async fn two_instances_with(
    app: &TestApp,
    extra: &[(&str, &str)],
) -> (ServerProcess, ServerProcess) {
    let port_a = free_port();
    let mut port_b = free_port();
    while port_b == port_a {
        port_b = free_port();
    }
    let origins = format!("http://localhost:{port_a},http://localhost:{port_b}");
    // Started together: both migrate-check and run their first clean-up at the same time.
    tokio::join!(
        ServerProcess::start_on(app, port_a, Some(&origins), extra),
        ServerProcess::start_on(app, port_b, Some(&origins), extra),
    )
}

/// `name=value` of the session cookie a response sets.
pub(crate) fn session_cookie(r: &Resp) -> String {
    let header = r
        .set_cookie()
        .unwrap_or_else(|| panic!("a session cookie: {}", r.text));
    header.split(';').next().unwrap_or_default().to_owned()
}

/// A request to the instance on `port` carrying `cookie` (cookie jars are per host, not per
/// port, so cookies are carried between instances by hand).
pub(crate) async fn with_cookie(port: u16, method: &str, path: &str, cookie: &str) -> Resp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}{path}");
    let request = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    };
    let response = request
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

async fn a_ceremony_started_on_one_instance_finishes_on_the_other(app: TestApp) {
    let (a, b) = two_instances(&app).await;
    let (on_a, on_b) = (Browser::new(a.port), Browser::new(b.port));
    let mut auth = SoftAuthenticator::new(&a.origin);

    // Sign-up: started on A, finished on B.
    let start = on_a
        .post(
            "/api/v1/signup/passkey/start",
            &json!({"username": "roamer"}),
        )
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let credential = auth
        .register(&start.body["options"], &Tamper::default())
        .expect("register");
    let finish = json!({"ceremony": start.body["ceremony"], "credential": credential});
    let r = on_b.post("/api/v1/signup/passkey/finish", &finish).await;
    assert_eq!(r.status, 201, "B finishes A's sign-up: {}", r.text);
    // … and only once: A cannot finish it again.
    let again = on_a.post("/api/v1/signup/passkey/finish", &finish).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(again.error(), "invalid_ceremony");

    // Log-in: started on B, finished on A.
    let start = on_b
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": "roamer"}),
        )
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .expect("assert");
    let finish = json!({"ceremony": start.body["ceremony"], "credential": credential});
    let r = on_a.post("/api/v1/login/passkey/finish", &finish).await;
    assert_eq!(r.status, 200, "A finishes B's log-in: {}", r.text);
    assert_eq!(r.body["account"]["username"], "roamer");
    let again = on_b.post("/api/v1/login/passkey/finish", &finish).await;
    assert_eq!(again.status, 400, "{}", again.text);

    // A usernameless log-in crosses over too.
    let start = on_a.post("/api/v1/login/passkey/start", &json!({})).await;
    let credential = auth
        .assert(&start.body["options"], &Tamper::default())
        .expect("assert");
    let r = on_b
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": start.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn a_session_from_one_instance_works_on_the_other_and_revocation_is_immediate(app: TestApp) {
    let (a, b) = two_instances(&app).await;
    let mut auth = SoftAuthenticator::new(&a.origin);
    let signed_up = Browser::new(a.port)
        .signup_passkey("sharer", &mut auth)
        .await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    let first = session_cookie(&signed_up);

    // Made by A, valid on B (and on A).
    let on_a = with_cookie(a.port, "GET", "/api/v1/session", &first).await;
    let on_b = with_cookie(b.port, "GET", "/api/v1/session", &first).await;
    assert_eq!(on_a.status, 200, "{}", on_a.text);
    assert_eq!(on_b.status, 200, "{}", on_b.text);
    assert_eq!(on_a.body["session_id"], on_b.body["session_id"]);
    let first_id = on_a.body["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();

    // A second session, made by B.
    let logged_in = Browser::new(b.port)
        .login_passkey(Some("sharer"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.text);
    let second = session_cookie(&logged_in);
    assert_eq!(
        with_cookie(a.port, "GET", "/api/v1/session", &second)
            .await
            .status,
        200
    );

    // B revokes A's session by id: A refuses it at once.
    let r = with_cookie(
        b.port,
        "DELETE",
        &format!("/api/v1/account/sessions/{first_id}"),
        &second,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = with_cookie(a.port, "GET", "/api/v1/session", &first).await;
    assert_eq!(
        r.status, 401,
        "revoked on B, still accepted on A: {}",
        r.text
    );
    assert_eq!(r.error(), "unauthenticated");

    // Logging out on B ends the session on A too.
    let r = with_cookie(b.port, "POST", "/api/v1/logout", &second).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = with_cookie(a.port, "GET", "/api/v1/session", &second).await;
    assert_eq!(
        r.status, 401,
        "logged out on B, still accepted on A: {}",
        r.text
    );
}
