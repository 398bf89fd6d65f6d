//! Hardening at the HTTP edge: the time limits on slow clients and slow dependencies, and
//! answers given before the body was read.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use sesame_tests::{TestApp, harness::TestFn, tests};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::hardening::send;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        an_answer_given_before_the_body_was_read_closes_the_connection_and_says_so,
        a_client_trickling_its_body_holds_no_database_connection_and_is_cut_off,
        a_client_trickling_its_request_head_is_disconnected,
        a_stuck_mail_server_is_cut_off_by_the_request_timeout,
    ]
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

/// The session token in a `Set-Cookie` value.
pub(crate) fn token(set_cookie: &str) -> String {
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
