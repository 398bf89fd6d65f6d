//! Scale-out: two `sesame` processes on one database (PostgreSQL, or the same SQLite file —
//! also a valid deployment on one machine) behave as one server. Ceremonies, sessions,
//! revocations and lock-out counts live in the database, so it does not matter which
//! instance a request reaches; the clean-up both run is idempotent.

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use sesame_tests::{
    Browser, Resp, SoftAuthenticator, Tamper, TestApp,
    flows::{login_code_finish, login_code_start},
    harness::TestFn,
    process::{ServerProcess, free_port},
    tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_ceremony_started_on_one_instance_finishes_on_the_other,
        a_session_from_one_instance_works_on_the_other_and_revocation_is_immediate,
        lock_out_counts_failures_on_both_instances_together,
        clean_up_running_on_both_instances_is_harmless,
    ]
}

/// Two processes on `app`'s database and key; each accepts both origins (same RP id
/// `localhost`), as instances behind one load balancer would.
async fn two_instances(app: &TestApp) -> (ServerProcess, ServerProcess) {
    let port_a = free_port();
    let mut port_b = free_port();
    while port_b == port_a {
        port_b = free_port();
    }
    let origins = format!("http://localhost:{port_a},http://localhost:{port_b}");
    // Started together: both migrate-check and run their first clean-up at the same time.
    tokio::join!(
        ServerProcess::start_on(app, port_a, Some(&origins), &[]),
        ServerProcess::start_on(app, port_b, Some(&origins), &[]),
    )
}

/// `name=value` of the session cookie a response sets.
fn session_cookie(r: &Resp) -> String {
    let header = r
        .set_cookie()
        .unwrap_or_else(|| panic!("a session cookie: {}", r.text));
    header.split(';').next().unwrap_or_default().to_owned()
}

/// A request to the instance on `port` carrying `cookie` (cookie jars are per host, not per
/// port, so cookies are carried between instances by hand).
async fn with_cookie(port: u16, method: &str, path: &str, cookie: &str) -> Resp {
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

fn now_ms() -> i64 {
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

async fn lock_out_counts_failures_on_both_instances_together(app: TestApp) {
    let (a, b) = two_instances(&app).await;
    let (on_a, on_b) = (Browser::new(a.port), Browser::new(b.port));
    let mut auth = SoftAuthenticator::new(&a.origin);
    assert_eq!(on_a.signup_passkey("locky", &mut auth).await.status, 201);

    // Wrong codes, alternating: started on one instance, finished on the other.
    let mut failures = [0u32; 2];
    let mut throttled_at = None;
    for attempt in 0..12 {
        let (start_on, finish_on, finisher) = if attempt % 2 == 0 {
            (&on_a, &on_b, 1)
        } else {
            (&on_b, &on_a, 0)
        };
        let ceremony = login_code_start(start_on, "locky", "totp").await;
        let r = login_code_finish(finish_on, &ceremony, "000000", None).await;
        if r.status == 429 {
            assert_eq!(r.error(), "too_many_attempts");
            throttled_at = Some(attempt);
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text);
        failures[finisher] += 1;
    }
    let total = failures[0] + failures[1];
    assert!(
        throttled_at.is_some_and(|n| n <= 10),
        "throttled within 10 consecutive failures across both instances: {failures:?}"
    );
    assert!(
        failures[0] < total && failures[1] < total,
        "both instances counted: {failures:?}"
    );
    // One counter in the database holds the failures of both.
    let db = app.db().await;
    let account = entity::account::Entity::find()
        .filter(entity::account::Column::Username.eq("locky"))
        .one(&db)
        .await
        .expect("query")
        .expect("account");
    assert_eq!(account.failed_attempts as u32, total, "{failures:?}");
    assert!(account.locked_until.is_some_and(|t| t > now_ms()));
    // The other instance throttles as well (the back-off is at least a second).
    let ceremony = login_code_start(&on_a, "locky", "totp").await;
    let r = login_code_finish(&on_a, &ceremony, "000000", None).await;
    assert_eq!(r.status, 429, "{}", r.text);

    // A passkey log-in on either instance still works and clears the count for both.
    let r = on_b
        .login_passkey(Some("locky"), &mut auth, &Tamper::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ceremony = login_code_start(&on_a, "locky", "totp").await;
    assert_eq!(
        login_code_finish(&on_b, &ceremony, "000000", None)
            .await
            .status,
        401
    );
}

async fn clean_up_running_on_both_instances_is_harmless(app: TestApp) {
    // A live session (made by the in-process instance) and rows that are already expired.
    let mut auth = app.authenticator();
    let signed_up = app.new_browser().signup_passkey("keeper", &mut auth).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    let live = session_cookie(&signed_up);
    let account_id: uuid::Uuid = signed_up.body["account"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("account id");
    let db = app.db().await;
    let now = now_ms();
    let mut expired_sessions = Vec::new();
    let mut expired_ceremonies = Vec::new();
    for i in 0..20u8 {
        let id = uuid::Uuid::new_v4();
        entity::session::ActiveModel::from(entity::session::Model {
            id,
            account_id,
            token_hash: [i; 32].to_vec(),
            created_at: now - 40 * 86_400_000,
            last_seen_at: now - 40 * 86_400_000,
            authenticated_at: now - 40 * 86_400_000,
            expires_at: now - 10 * 86_400_000,
            ip: None,
            user_agent: None,
            methods: "passkey".into(),
        })
        .insert(&db)
        .await
        .expect("insert an expired session");
        expired_sessions.push(id);
        let id = uuid::Uuid::new_v4();
        entity::ceremony::ActiveModel::from(entity::ceremony::Model {
            id,
            kind: "login_passkey".into(),
            account_id: None,
            session_id: None,
            username: None,
            state: "{}".into(),
            code_hash: None,
            attempts: 0,
            created_at: now - 3_600_000,
            expires_at: now - 60_000,
        })
        .insert(&db)
        .await
        .expect("insert an expired ceremony");
        expired_ceremonies.push(id);
    }
    // Sent-code records: one older than the day they are kept, one from the last hour.
    let (old_send, recent_send) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (id, sent_at) in [
        (old_send, now - 25 * 3_600_000),
        (recent_send, now - 3_600_000),
    ] {
        entity::code_send::ActiveModel::from(entity::code_send::Model {
            id,
            target: "email:keeper@example.com".into(),
            sent_at,
        })
        .insert(&db)
        .await
        .expect("insert a sent-code record");
    }
    // A ceremony that is still live must survive every clean-up.
    let live_ceremony = app
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": "keeper"}),
        )
        .await;
    assert_eq!(live_ceremony.status, 200);

    // Both instances run their clean-up as they start (the first tick is immediate), at the
    // same time; then the same deletes run concurrently from two more connections, twice.
    let (a, b) = two_instances(&app).await;
    let other = app.db().await;
    for _ in 0..2 {
        let idle_ms = 7 * 86_400_000;
        let (c1, c2, s1, s2) = tokio::join!(
            sesame::store::ceremonies::delete_expired(&db, now_ms()),
            sesame::store::ceremonies::delete_expired(&other, now_ms()),
            sesame::store::sessions::delete_expired(&db, now_ms(), idle_ms),
            sesame::store::sessions::delete_expired(&other, now_ms(), idle_ms),
        );
        for result in [c1, c2, s1, s2] {
            result.expect("a concurrent clean-up succeeds");
        }
    }
    let left_sessions = entity::session::Entity::find()
        .filter(entity::session::Column::Id.is_in(expired_sessions))
        .all(&db)
        .await
        .expect("query");
    assert!(left_sessions.is_empty(), "expired sessions are gone");
    let left_ceremonies = entity::ceremony::Entity::find()
        .filter(entity::ceremony::Column::Id.is_in(expired_ceremonies))
        .all(&db)
        .await
        .expect("query");
    assert!(left_ceremonies.is_empty(), "expired ceremonies are gone");
    // The sent-code records are removed only by the instances' own clean-up (its first run
    // starts with the process), so wait for that, a bounded time.
    let sends = || async {
        entity::code_send::Entity::find()
            .all(&db)
            .await
            .expect("query")
            .into_iter()
            .map(|row| row.id)
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sends().await.contains(&old_send) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        sends().await,
        vec![recent_send],
        "sent-code records older than a day are gone, the recent one stays"
    );

    // What is live is untouched, and both instances still serve it.
    for port in [a.port, b.port] {
        let r = with_cookie(port, "GET", "/api/v1/session", &live).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(Browser::new(port).get("/readyz").await.status, 200);
    }
    let ceremony_id: uuid::Uuid = live_ceremony.body["ceremony"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ceremony id");
    let still_there = entity::ceremony::Entity::find_by_id(ceremony_id)
        .one(&db)
        .await
        .expect("query");
    assert!(
        still_there.is_some(),
        "a live ceremony survives the clean-ups"
    );
    let credential = auth
        .assert(&live_ceremony.body["options"], &Tamper::default())
        .expect("assert");
    let r = app
        .post(
            "/api/v1/login/passkey/finish",
            &json!({"ceremony": live_ceremony.body["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
