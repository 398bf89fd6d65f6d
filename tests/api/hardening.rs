//! Hardening at the HTTP edge (docs/SECURITY.md): the per-IP rate limit. The cross-site request
//! check and the security headers are in `hardening_origin.rs`, the time limits on slow clients
//! in `hardening_slow_clients.rs`.

use reqwest::Method;
use serde_json::{Value, json};
use sesame_tests::{Browser, Resp, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_flood_from_one_address_gets_429_while_other_addresses_still_sign_up_and_log_in,
        a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit,
        the_account_endpoints_reads_and_log_out_are_not_limited_per_ip,
        the_account_calls_that_hash_are_limited_per_ip,
        with_the_limit_off_a_burst_from_one_address_passes,
    ]
}

const FLOODER: &str = "203.0.113.9";

const NEIGHBOUR: &str = "198.51.100.7";

/// Send a request with extra headers through `browser` (its cookies included).
pub async fn send(
    browser: &Browser,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    let mut request = browser
        .client
        .request(method, format!("{}{path}", browser.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    read(request.send().await.expect("request")).await
}

/// A `Resp` from a reqwest response.
pub async fn read(response: reqwest::Response) -> Resp {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// Turn the per-IP limit on: `burst` at once, one more a minute; 127.0.0.1 is a trusted proxy
/// when `behind_proxy`, so `X-Forwarded-For` names the client. A minute, not a second: the
/// limiter's clock moves with real time too (plus what the test advances), and a request a
/// second would let a slow run of the machine refill a bucket the test counts on being empty.
async fn limit_on(app: &mut TestApp, burst: u32, behind_proxy: bool) {
    app.restart_with(|c| {
        c.ip_rate_limit = "on".into();
        c.ip_rate_limit_per_minute = 1;
        c.ip_rate_limit_burst = burst;
        c.trusted_proxies = if behind_proxy {
            vec!["127.0.0.1".into()]
        } else {
            Vec::new()
        };
    })
    .await;
}

/// Sign up with a passkey from the address `ip` (through the trusted proxy).
async fn signup_from(app: &TestApp, browser: &Browser, ip: &str, username: &str) -> Resp {
    let mut auth = app.authenticator();
    let xff = [("x-forwarded-for", ip)];
    let start = send(
        browser,
        Method::POST,
        "/api/v1/signup/passkey/start",
        &xff,
        Some(&json!({"username": username})),
    )
    .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let credential = auth
        .register(&start.body["options"], &Default::default())
        .expect("register");
    send(
        browser,
        Method::POST,
        "/api/v1/signup/passkey/finish",
        &xff,
        Some(&json!({"ceremony": start.body["ceremony"], "credential": credential})),
    )
    .await
}

async fn a_flood_from_one_address_gets_429_while_other_addresses_still_sign_up_and_log_in(
    mut app: TestApp,
) {
    // A real user signed up before the flood (from the machine itself, no proxy header).
    let mut alice = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("alice", &mut alice)
            .await
            .status,
        201
    );
    limit_on(&mut app, 5, true).await;

    let flooder = app.new_browser();
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..40 {
        let r = send(
            &flooder,
            Method::POST,
            "/api/v1/login/passkey/start",
            &[("x-forwarded-for", FLOODER)],
            Some(&json!({"username": format!("guess{i}")})),
        )
        .await;
        statuses.push(r.status);
        if r.status == 429 && refused.is_none() {
            refused = Some(r);
        }
    }
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let refused = refused.expect("the flood was refused");
    assert_eq!(refused.error(), "too_many_attempts");
    assert!(refused.body["error_description"].is_string());
    let retry_after: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Another address signs up and logs in as if nothing happened…
    let neighbour = app.new_browser();
    let r = signup_from(&app, &neighbour, NEIGHBOUR, "bob").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(neighbour.get("/api/v1/session").await.status, 200);
    // …and so does the real user, from the machine itself.
    let r = app
        .new_browser()
        .login_passkey(Some("alice"), &mut alice, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The flooding address gets through again once its bucket refills.
    app.clock.advance_secs(retry_after as i64);
    let r = send(
        &flooder,
        Method::POST,
        "/api/v1/login/passkey/start",
        &[("x-forwarded-for", FLOODER)],
        Some(&json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(mut app: TestApp) {
    limit_on(&mut app, 3, false).await;
    let mut statuses = Vec::new();
    for i in 0..10 {
        // A new "address" each time: not believed, as 127.0.0.1 is no trusted proxy here.
        let forged = format!("192.0.2.{i}");
        let r = send(
            &app.browser,
            Method::POST,
            "/api/v1/login/code/start",
            &[("x-forwarded-for", forged.as_str())],
            Some(&json!({"username": "nobody", "method": "totp"})),
        )
        .await;
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..3], &[202, 202, 202], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
}

async fn the_account_endpoints_reads_and_log_out_are_not_limited_per_ip(mut app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("carol", &mut auth).await.status, 201);
    limit_on(&mut app, 2, false).await;
    for _ in 0..10 {
        assert_eq!(app.get("/api/v1/session").await.status, 200);
        assert_eq!(app.get("/healthz").await.status, 200);
        let r = rename_first_passkey(&app).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // With the address's budget spent by someone else behind it, log-out still ends the
    // session.
    let empty = json!({});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let other = app.new_browser();
        statuses.push(
            other
                .post("/api/v1/login/passkey/start", &empty)
                .await
                .status,
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let r = app.post("/api/v1/logout", &empty).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.get("/api/v1/session").await.status, 401);
}

/// New recovery codes (ten argon2id hashes) and a new password (one) count against the
/// address like a public call: one session cannot keep the hashing threads busy.
async fn the_account_calls_that_hash_are_limited_per_ip(mut app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("dora", &mut auth).await.status, 201);
    // One new request a minute: ten hashes can take seconds while other tests load the
    // machine, and the clock the limiter reads moves with real time too.
    app.restart_with(|c| {
        c.ip_rate_limit = "on".into();
        c.ip_rate_limit_per_minute = 1;
        c.ip_rate_limit_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = app.post("/api/v1/account/recovery-codes", &json!({})).await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [201, 201, 429]);
    let password = json!({"password": "tangerine ladder 42 quietly"});
    let r = app.put("/api/v1/account/password", &password).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.error(), "too_many_attempts");
    assert_eq!(app.get("/api/v1/account").await.body["password_set"], false);
    // The account's other calls are not held back.
    let r = rename_first_passkey(&app).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Rename the first passkey (an authenticated, state-changing call).
async fn rename_first_passkey(app: &TestApp) -> Resp {
    let list = app.get("/api/v1/account/passkeys").await;
    let id = list.body[0]["id"].as_str().expect("a passkey").to_owned();
    app.patch(
        &format!("/api/v1/account/passkeys/{id}"),
        &json!({"label": "Laptop"}),
    )
    .await
}

async fn with_the_limit_off_a_burst_from_one_address_passes(app: TestApp) {
    assert_eq!(app.config.ip_rate_limit, "off");
    let empty = json!({});
    let attempts = (0..60).map(|_| app.post("/api/v1/login/passkey/start", &empty));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
