//! Operations: Prometheus metrics at `/metrics` (bearer token, or a separate listen address).

use sesame_tests::{
    TestApp,
    harness::TestFn,
    metrics::{self, value},
    process, tests,
};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        without_a_token_or_a_listener_there_is_no_metrics_endpoint,
        metrics_need_the_bearer_token,
        metrics_count_log_ins_ceremonies_latency_and_the_pool,
        metrics_listen_serves_metrics_on_a_separate_address_only,
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
