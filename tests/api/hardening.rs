//! Hardening at the HTTP edge: the per-IP rate limit, the cross-site request check, the
//! security headers and the time limits on slow clients (docs/SECURITY.md).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sesame_tests::{Browser, Resp, TestApp, harness::TestFn, tests};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_flood_from_one_address_gets_429_while_other_addresses_still_sign_up_and_log_in,
        a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit,
        the_account_endpoints_and_reads_are_not_limited_per_ip,
        with_the_limit_off_a_burst_from_one_address_passes,
        a_foreign_origin_is_forbidden_and_the_configured_origin_or_none_passes,
        a_cross_site_request_changes_nothing_for_a_logged_in_person,
        a_form_body_is_refused_even_where_the_body_is_ignored,
        security_headers_are_on_every_answer_and_hsts_only_on_https,
        an_answer_given_before_the_body_was_read_closes_the_connection_and_says_so,
        a_client_trickling_its_body_holds_no_database_connection_and_is_cut_off,
        a_client_trickling_its_request_head_is_disconnected,
        a_stuck_mail_server_is_cut_off_by_the_request_timeout,
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

/// Turn the per-IP limit on: `burst` at once, one more per second; 127.0.0.1 is a trusted proxy
/// when `behind_proxy`, so `X-Forwarded-For` names the client.
async fn limit_on(app: &mut TestApp, burst: u32, behind_proxy: bool) {
    app.restart_with(|c| {
        c.ip_rate_limit = "on".into();
        c.ip_rate_limit_per_minute = 60;
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
    assert!(
        statuses[5..].iter().filter(|s| **s == 429).count() >= 30,
        "{statuses:?}"
    );
    let refused = refused.expect("the flood was refused");
    assert_eq!(refused.error(), "too_many_attempts");
    assert!(refused.body["error_description"].is_string());
    let retry_after: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");

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
    tokio::time::sleep(Duration::from_millis(1100 * retry_after)).await;
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

async fn the_account_endpoints_and_reads_are_not_limited_per_ip(mut app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("carol", &mut auth).await.status, 201);
    limit_on(&mut app, 2, false).await;
    for _ in 0..10 {
        assert_eq!(app.get("/api/v1/session").await.status, 200);
        assert_eq!(app.get("/healthz").await.status, 200);
        let r = rename_first_passkey(&app).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
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

async fn a_foreign_origin_is_forbidden_and_the_configured_origin_or_none_passes(app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let body = json!({"username": "dave"});
    let path = "/api/v1/signup/passkey/start";
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://localhost")],
        vec![("origin", "http://localhost.evil.example")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let r = send(&app.browser, Method::POST, path, &headers, Some(&body)).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.text);
        assert_eq!(r.error(), "forbidden");
        assert!(r.body["error_description"].is_string());
    }
    let db = app.db().await;
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0,
        "nothing was started"
    );

    let own = app.origin.clone();
    let r = send(
        &app.browser,
        Method::POST,
        path,
        &[("origin", own.as_str())],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "the configured origin: {}", r.text);
    let r = send(
        &app.browser,
        Method::POST,
        path,
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "a same-origin browser request: {}", r.text);
    let r = send(&app.browser, Method::POST, path, &[], Some(&body)).await;
    assert_eq!(
        r.status, 200,
        "a client without Origin (curl, an app): {}",
        r.text
    );
    // Safe methods are never refused.
    let r = send(
        &app.browser,
        Method::GET,
        "/api/v1/session",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
}

async fn a_cross_site_request_changes_nothing_for_a_logged_in_person(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("erin", &mut auth).await.status, 201);
    let other = app.new_browser();
    assert_eq!(
        other
            .login_passkey(Some("erin"), &mut auth, &Default::default())
            .await
            .status,
        200
    );
    let evil = [("origin", "https://evil.example")];
    let attacks: [(Method, &str, Option<Value>); 5] = [
        (Method::DELETE, "/api/v1/account/sessions", None),
        (
            Method::PUT,
            "/api/v1/account/password",
            Some(json!({"password": "correct horse battery staple 42"})),
        ),
        (
            Method::POST,
            "/api/v1/account/recovery-codes",
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/account/contacts/start",
            Some(json!({"channel": "email", "address": "mallory@example.com"})),
        ),
        (Method::POST, "/api/v1/logout", None),
    ];
    for (method, path, body) in attacks {
        let r = send(&app.browser, method.clone(), path, &evil, body.as_ref()).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert_eq!(r.error(), "forbidden");
    }
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "still logged in"
    );
    assert_eq!(
        other.get("/api/v1/session").await.status,
        200,
        "the other session lives"
    );
    let account = app.get("/api/v1/account").await;
    assert_eq!(account.body["password_set"], false);
    assert_eq!(account.body["recovery_codes_remaining"], 0);
    assert_eq!(account.body["contacts"], 0);
    assert!(
        app.mail
            .messages()
            .iter()
            .all(|m| !m.recipients.iter().any(|t| t.contains("mallory")))
    );
}

async fn a_form_body_is_refused_even_where_the_body_is_ignored(app: TestApp) {
    let mut auth = app.authenticator();
    assert_eq!(app.signup_passkey("frank", &mut auth).await.status, 201);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = app
            .post_raw("/api/v1/logout", Some(content_type), b"a=b".to_vec())
            .await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.text);
        assert_eq!(r.error(), "invalid_request");
    }
    assert_eq!(
        app.get("/api/v1/session").await.status,
        200,
        "the log-out did not happen"
    );
    // Without a body (what the web page sends) it works.
    assert_eq!(
        app.post_raw("/api/v1/logout", None, Vec::new())
            .await
            .status,
        204
    );
}

/// An answer given before the request's body was read (401 from the session check, 413 over
/// the body limit) ends the connection, and says so with `Connection: close` (RFC 9112 §9.6),
/// so the client's next request goes out on a new connection. Without the header, the next
/// request on the same connection failed with a reset or a broken pipe. An answer after the
/// body was read keeps the connection.
async fn an_answer_given_before_the_body_was_read_closes_the_connection_and_says_so(app: TestApp) {
    let browser = app.new_browser();
    let padded = |n: usize| json!({"username": "a".repeat(n)});
    for round in 0..20 {
        for (path, body, status) in [
            ("/api/v1/account/passkeys/start", padded(30_000), 401),
            ("/api/v1/login/passkey/start", padded(200_000), 413),
        ] {
            let refused = send(&browser, Method::POST, path, &[], Some(&body)).await;
            assert_eq!(refused.status, status, "{path}");
            assert_eq!(refused.header("connection"), Some("close"), "{path}");
            // The same client at once: it must not reuse the closed connection.
            let next = browser.get("/healthz").await;
            assert_eq!(next.status, 200, "round {round}, after {path}");
        }
        let read = browser
            .post(
                "/api/v1/login/passkey/start",
                &json!({"username": "nobody"}),
            )
            .await;
        assert_eq!(read.status, 200);
        assert_eq!(
            read.header("connection"),
            None,
            "a read body keeps the connection"
        );
    }
}

async fn security_headers_are_on_every_answer_and_hsts_only_on_https(mut app: TestApp) {
    for path in ["/healthz", "/api/v1/session", "/login", "/nowhere"] {
        let r = app.get(path).await;
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(
            r.header("content-security-policy")
                .is_some_and(|c| c.contains("frame-ancestors 'none'")),
            "{path}"
        );
        assert_eq!(
            r.header("strict-transport-security"),
            None,
            "{path}: no HSTS on http"
        );
    }
    let https = format!("https://localhost:{}", app.port);
    app.restart_with(|c| c.origin = vec![https.clone()]).await;
    let forbidden = send(
        &app.browser,
        Method::POST,
        "/api/v1/logout",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(forbidden.status, 403);
    for r in [
        app.get("/healthz").await,
        app.get("/api/v1/session").await,
        app.get("/login").await,
        forbidden,
    ] {
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=63072000; includeSubDomains"),
            "{}",
            r.status
        );
        assert!(r.header("content-security-policy").is_some());
    }
    assert!(
        app.get("/api/v1/session")
            .await
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store"))
    );
}

/// The session token in a `Set-Cookie` value.
fn token(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("a cookie value")
}

async fn a_client_trickling_its_body_holds_no_database_connection_and_is_cut_off(mut app: TestApp) {
    app.restart_with(|c| {
        c.request_timeout_secs = 8;
        c.database_max_connections = 2;
    })
    .await;
    let mut auth = app.authenticator();
    let r = app.signup_passkey("grace", &mut auth).await;
    assert_eq!(r.status, 201);
    let cookie = format!("sesame_session={}", token(r.set_cookie().unwrap()));
    // Eight clients start authenticated requests (the session is looked up first) and then
    // stall in the middle of their bodies: four times the pool.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
        let head = format!(
            "POST /api/v1/account/passkeys/finish HTTP/1.1\r\nHost: localhost:{}\r\nCookie: {cookie}\r\n\
             Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"ceremony\": \"",
            app.port
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The database is free for everybody else meanwhile.
    let started = Instant::now();
    for _ in 0..4 {
        assert_eq!(app.get("/api/v1/session").await.status, 200);
        assert_eq!(
            app.new_browser()
                .post("/api/v1/login/passkey/start", &json!({}))
                .await
                .status,
            200
        );
    }
    assert!(
        // Far below the 8 s a request would wait if the stalled ones held the pool; the
        // margin keeps a loaded CI machine from failing it.
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Each stalled request is answered 503 when its time is up.
    for mut stream in stalled {
        let answer = read_answer(&mut stream, Duration::from_secs(15)).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("\"error\":\"unavailable\""), "{answer}");
    }
    assert_eq!(app.get("/api/v1/session").await.status, 200);
}

/// Read from a raw connection until a whole JSON answer arrived (or the time is up).
async fn read_answer(stream: &mut TcpStream, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if text
            .split_once("\r\n\r\n")
            .is_some_and(|(_, body)| body.trim_end().ends_with('}'))
        {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_client_trickling_its_request_head_is_disconnected(mut app: TestApp) {
    app.restart_with(|c| c.header_read_timeout_secs = 1).await;
    let mut partial = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let started = Instant::now();
    for stream in [&mut partial, &mut silent] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        // Closed by the server: end of stream (or a reset), and no answer to a half request.
        match read {
            Ok(Ok(n)) => assert!(
                n == 0 || buf.starts_with(b"HTTP/1.1 408"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Ok(Err(_)) => {}
            Err(_) => panic!("the slow connection was not closed within 5 s"),
        }
    }
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "others are served meanwhile"
    );
}

async fn a_stuck_mail_server_is_cut_off_by_the_request_timeout(mut app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    // A "mail server" that accepts connections and never says a word.
    let stuck = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stuck_port = stuck.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = stuck.accept().await {
            held.push(socket);
        }
    });
    app.restart_with(|c| {
        c.request_timeout_secs = 2;
        c.smtp_url = Some(format!("smtp://127.0.0.1:{stuck_port}?tls=none"));
    })
    .await;
    let started = Instant::now();
    let r = app
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "heidi", "channel": "email", "address": "heidi@example.com"}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.error(), "unavailable");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        !r.text.chars().any(|c| c.is_ascii_digit()),
        "no code in the answer: {}",
        r.text
    );
    // Nothing can be finished: the only ceremony left is one whose code was never sent.
    let db = app.db().await;
    assert!(entity::ceremony::Entity::find().count(&db).await.unwrap() <= 1);
    assert_eq!(entity::account::Entity::find().count(&db).await.unwrap(), 0);
    assert_eq!(app.get("/readyz").await.status, 200);
    holder.abort();
}
