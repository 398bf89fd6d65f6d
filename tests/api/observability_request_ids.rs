//! Operations: a request id on every response and log line, and JSON logs
//! (`SESAME_LOG_FORMAT=json`).

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use sesame_tests::{TestApp, harness::TestFn, logs, process, tests};
use tokio::io::{AsyncBufReadExt, BufReader};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        every_response_carries_a_request_id,
        a_well_formed_incoming_request_id_is_kept_and_others_replaced,
        text_log_lines_of_a_request_carry_its_id,
        json_logs_are_one_object_a_line_with_the_request_id,
    ]
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
