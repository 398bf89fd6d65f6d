//! Operations: Prometheus metrics at `/metrics` (bearer token, or a separate listen address),
//! a request id on every response and log line, and JSON logs (`SESAME_LOG_FORMAT=json`).

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use sesame_tests::{
    TestApp,
    harness::TestFn,
    logs,
    metrics::{self, value},
    process, tests,
};
use tokio::io::{AsyncBufReadExt, BufReader};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        without_a_token_or_a_listener_there_is_no_metrics_endpoint,
        metrics_need_the_bearer_token,
        metrics_count_log_ins_ceremonies_latency_and_the_pool,
        metrics_listen_serves_metrics_on_a_separate_address_only,
        every_response_carries_a_request_id,
        a_well_formed_incoming_request_id_is_kept_and_others_replaced,
        text_log_lines_of_a_request_carry_its_id,
        json_logs_are_one_object_a_line_with_the_request_id,
    ]
}

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    metrics::scrape(&app.client, &app.base, token).await
}

async fn without_a_token_or_a_listener_there_is_no_metrics_endpoint(app: TestApp) {
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, 404);
    let (status, _) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 404);
}

async fn metrics_need_the_bearer_token(app: TestApp) {
    let mut app = app;
    app.restart_with(|c| c.metrics_token = Some(TOKEN.into()))
        .await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "unauthenticated");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    let (status, _) = scrape(&app, Some("metrics-token-0123456789abcdeX")).await;
    assert_eq!(status, 401);
    let (status, body) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE sesame_logins_total counter"),
        "{body}"
    );
}

async fn metrics_count_log_ins_ceremonies_latency_and_the_pool(app: TestApp) {
    let mut app = app;
    app.restart_with(|c| c.metrics_token = Some(TOKEN.into()))
        .await;
    let mut auth = app.authenticator();
    let r = app.new_browser().signup_passkey("pia", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (_, before) = scrape(&app, Some(TOKEN)).await;
    let logins = r#"sesame_logins_total{method="passkey"}"#;
    let failures = r#"sesame_login_failures_total{method="passkey"}"#;
    let started = r#"sesame_ceremonies_started_total{kind="login_passkey"}"#;
    let finished = r#"sesame_ceremonies_finished_total{kind="login_passkey"}"#;

    let browser = app.new_browser();
    let r = browser
        .login_passkey(Some("pia"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = browser
        .login_passkey(
            Some("pia"),
            &mut auth,
            &sesame_tests::Tamper {
                clear_uv: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);

    let (_, after) = scrape(&app, Some(TOKEN)).await;
    // The recorder is shared by every test in this process: compare before and after.
    let grew = |series: &str, by: f64| {
        let b = value(&before, series).unwrap_or(0.0);
        let a = value(&after, series).unwrap_or_else(|| panic!("{series} missing:\n{after}"));
        assert!(a - b >= by, "{series}: {b} → {a}");
    };
    grew(logins, 1.0);
    grew(failures, 1.0);
    grew(started, 2.0);
    grew(finished, 2.0);
    assert!(
        after.contains(r#"sesame_signups_total{method="passkey"}"#),
        "{after}"
    );
    assert!(after.contains("sesame_ceremonies_expired_total"), "{after}");
    assert!(
        after.contains(r#"sesame_codes_sent_total{channel="email"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"sesame_code_delivery_failures_total{channel="sms"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"sesame_http_request_duration_seconds_bucket{method="POST",route="/api/v1/login/passkey/finish",le="#),
        "{after}"
    );
    assert!(
        after.contains(r#"sesame_http_requests_total{method="POST",route="/api/v1/login/passkey/finish",status="200"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"sesame_db_pool_connections{state="idle"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"sesame_db_pool_connections{state="in_use"}"#),
        "{after}"
    );
    // SQLite writes through one connection (reads have their own); PostgreSQL's pool is
    // the configured size.
    let max = match app.backend {
        sesame_tests::Backend::Sqlite => 1,
        sesame_tests::Backend::Postgres { .. } => app.config.database_max_connections,
    };
    assert!(
        after.contains(&format!("sesame_db_pool_max_connections {max}\n")),
        "{after}"
    );
    // Unmatched paths share one label; no raw path becomes a series.
    // (A token of letters: digits like "12345" can turn up inside a latency sum.)
    let _ = app.get("/no/such/path/zqxjvkw").await;
    let (_, later) = scrape(&app, Some(TOKEN)).await;
    assert!(later.contains(r#"route="unmatched""#), "{later}");
    assert!(!later.contains("zqxjvkw"), "{later}");

    // Every answer counts, the first of a series and the ones after it (their handles are
    // kept): three 404s to the fallback and their latencies.
    let answers = r#"sesame_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    let latencies = r#"sesame_http_request_duration_seconds_count{method="GET",route="unmatched"}"#;
    for _ in 0..3 {
        assert_eq!(app.get("/no/such/path/again").await.status, 404);
    }
    let (_, last) = scrape(&app, Some(TOKEN)).await;
    for series in [answers, latencies] {
        let (b, a) = (value(&later, series), value(&last, series));
        let (Some(b), Some(a)) = (b, a) else {
            panic!("{series} missing:\n{last}");
        };
        assert!(a - b >= 3.0, "{series}: {b} → {a}");
    }
}

async fn metrics_listen_serves_metrics_on_a_separate_address_only(app: TestApp) {
    let mut app = app;
    let port = process::free_port();
    app.restart_with(|c| c.metrics_listen = Some(format!("127.0.0.1:{port}")))
        .await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, 404, "not on the main address");
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("GET metrics listener");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4"))
    );
    let body = r.text().await.unwrap_or_default();
    assert!(body.contains("sesame_db_pool_max_connections"), "{body}");
    let other = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/session"))
        .await
        .expect("GET");
    assert_eq!(
        other.status(),
        404,
        "the metrics address serves nothing else"
    );
}

fn is_uuid(text: Option<&str>) -> bool {
    text.is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let health = app.get("/healthz").await;
    let missing = app.get("/api/v1/no-such-thing").await;
    let refused = app.get("/api/v1/session").await;
    let bad = app
        .post_raw(
            "/api/v1/login/passkey/start",
            Some("text/plain"),
            b"x".to_vec(),
        )
        .await;
    for r in [&health, &missing, &refused, &bad] {
        assert!(is_uuid(r.header("x-request-id")), "{:?}", r.headers);
    }
    assert_ne!(
        health.header("x-request-id"),
        missing.header("x-request-id")
    );
}

async fn a_well_formed_incoming_request_id_is_kept_and_others_replaced(app: TestApp) {
    let send = |id: &'static str| {
        app.client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", id)
            .send()
    };
    let kept = send("edge-4f1c.9a:2").await.expect("GET");
    assert_eq!(kept.headers()["x-request-id"], "edge-4f1c.9a:2");
    let replaced = send("two words <script>").await.expect("GET");
    let id = replaced.headers()["x-request-id"].to_str().ok();
    assert!(is_uuid(id), "{id:?}");
}

async fn text_log_lines_of_a_request_carry_its_id(app: TestApp) {
    let id = format!("trace-{}", uuid::Uuid::new_v4().simple());
    let r = app
        .client
        .get(format!("{}/api/v1/session", app.base))
        .header("x-request-id", &id)
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 401);
    // The access-log line is written when the response is; give it a moment.
    for _ in 0..50 {
        if logs::contains(&format!("request_id={id}")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no log line carries request_id={id}");
}

async fn json_logs_are_one_object_a_line_with_the_request_id(app: TestApp) {
    let port = process::free_port();
    let origin = format!("http://localhost:{port}");
    let mut child = tokio::process::Command::new(process::binary())
        .env("SESAME_LISTEN", format!("127.0.0.1:{port}"))
        .env("SESAME_DATABASE_URL", &app.config.database_url)
        .env("SESAME_DATA_DIR", &app.config.data_dir)
        .env("SESAME_SERVER_KEY", app.server_key_hex())
        .env("SESAME_ORIGIN", &origin)
        .env("SESAME_SMTP_URL", app.mail.url())
        .env("SESAME_MAIL_FROM", "sesame@localhost")
        .env("SESAME_LOG_FORMAT", "json")
        .env("SESAME_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sesame starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let id = format!("json-{}", uuid::Uuid::new_v4().simple());
    let mut answered = false;
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .header("x-request-id", &id)
            .send()
            .await
            && r.status().is_success()
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "sesame did not become ready");

    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = rx.recv().await {
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            assert!(
                parsed["timestamp"].is_string() && parsed["level"].is_string(),
                "{line}"
            );
            seen.push(line);
            if parsed["span"]["request_id"] == id.as_str() {
                return parsed;
            }
        }
        panic!("the log ended");
    })
    .await
    .unwrap_or_else(|_| panic!("no JSON line with request_id {id}; saw {seen:?}"));
    assert_eq!(found["span"]["route"], "/readyz");
    assert_eq!(found["span"]["method"], "GET");
    assert_eq!(found["status"], 200, "{found}");
    let _ = child.kill().await;
}
