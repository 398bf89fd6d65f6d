use std::time::Duration;

use sesame_tests::process::ServerProcess;
use sesame_tests::{Backend, Browser, SoftAuthenticator, TestApp, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        healthz_and_readyz_answer_200_when_the_database_is_up,
        unknown_paths_get_the_contract_error_body,
        an_in_memory_sqlite_database_serves_every_read_and_write_until_the_process_ends,
        sigterm_ends_the_process_after_the_database_was_used,
        sigterm_waits_for_a_security_notice_being_sent,
        sigterm_with_a_drain_time_fails_readyz_and_serves_the_rest_until_a_second_signal,
        sigterm_with_a_drain_time_stops_on_its_own_after_it,
    ]
}

async fn healthz_and_readyz_answer_200_when_the_database_is_up(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
}

async fn unknown_paths_get_the_contract_error_body(app: TestApp) {
    let r = app.get("/api/v1/no-such-thing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");
    assert!(r.body["error_description"].is_string());
    let r = app.delete("/api/v1/signup/passkey/start").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error(), "invalid_request");
}

/// `SESAME_DATABASE_URL=sqlite::memory:` (a throw-away server): every read sees what the writes
/// stored, the stand-alone reads (the account body, the session list) included, and nothing
/// is kept on disk, so a restart starts empty. On PostgreSQL the same steps run on the test's
/// database, which outlives the process: after the restart the session and the name remain.
async fn an_in_memory_sqlite_database_serves_every_read_and_write_until_the_process_ends(
    mut app: TestApp,
) {
    let in_memory = matches!(app.backend, Backend::Sqlite);
    if in_memory {
        app.restart_with(|config| config.database_url = "sqlite::memory:".into())
            .await;
    }
    assert_eq!(app.get("/readyz").await.status, 200);
    let mut auth = app.authenticator();
    let r = app.signup_passkey("memory-ada", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["username"], "memory-ada");
    let r = app.get("/api/v1/account").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["passkeys"], 1, "{}", r.text);
    let r = app.get("/api/v1/account/sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .login_passkey(Some("memory-ada"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !app.config.data_dir.join(":memory:").exists(),
        "no file named after the URL"
    );

    app.restart().await;
    let session = app.get("/api/v1/session").await.status;
    let r = app
        .post(
            "/api/v1/signup/passkey/start",
            &serde_json::json!({"username": "memory-ada"}),
        )
        .await;
    if in_memory {
        // The account went with the process: the cookie is unknown and the name is free.
        assert_eq!(session, 401);
        assert_eq!(r.status, 200, "{}", r.text);
    } else {
        assert_eq!(session, 200);
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.error(), "username_taken");
    }
}

/// SIGTERM stops a process that has served requests (on PostgreSQL, a session check takes the
/// connections kept out of the pool, and closing the pool waits for them) within seconds, with
/// exit status 0. On SQLite the stopped process leaves its database in one file: every
/// connection was closed, the WAL checkpoint thread's too (opened after its 32nd commit), so
/// the last one copied the log into the database and deleted the `-wal` file.
async fn sigterm_ends_the_process_after_the_database_was_used(mut app: TestApp) {
    // The only process with the database open.
    app.stop().await;
    let mut server = ServerProcess::start_for(&app, None, &[]).await;
    let browser = Browser::new(server.port);
    let mut auth = SoftAuthenticator::new(&server.origin);
    for n in 0..20 {
        let someone = Browser::new(server.port);
        let r = someone
            .signup_passkey(&format!("sigterm-{n}"), &mut auth)
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = browser.signup_passkey("sigterm-ada", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    for _ in 0..4 {
        assert_eq!(browser.get("/api/v1/session").await.status, 200);
    }
    let status = server.terminate(Duration::from_secs(5));
    let status = status.expect("the process exits within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    if let Some(file) = app.config.database_url.strip_prefix("sqlite://") {
        let log = std::path::PathBuf::from(format!("{file}-wal"));
        assert!(std::path::Path::new(file).exists());
        assert!(!log.exists(), "{} is left behind", log.display());
    }
}

/// A security notice is sent after the answer, in the background: a SIGTERM right after the
/// change (a rolling restart) waits for it instead of dropping it, here with an SMTP server
/// that takes 1.5 s to accept the message.
async fn sigterm_waits_for_a_security_notice_being_sent(mut app: TestApp) {
    app.stop().await;
    let mut server = ServerProcess::start_for(&app, None, &[]).await;
    let browser = Browser::new(server.port);
    let r = sesame_tests::flows::signup_by_email(&app, &browser, "nell", "nell@example.com").await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.mail.set_mode(sesame_fakes::SinkMode::SlowMail);
    let password = serde_json::json!({"password": "quiet harbour lantern ninety"});
    let r = browser.put("/api/v1/account/password", &password).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // `terminate` blocks its thread while it waits: off the runtime, whose other tasks include
    // the SMTP server the notice is going to.
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(status.expect("the process exits").success());
    let notice = app
        .mail
        .wait_for("nell@example.com", Duration::from_secs(2))
        .await
        .expect("the notice was delivered before the process ended");
    let subject = notice.subject.unwrap_or_default();
    assert!(subject.contains("password"), "{subject}");
}

/// `SESAME_SHUTDOWN_DRAIN_SECS` (docs/DEPLOY.md): after SIGTERM `/readyz` answers 503, so a
/// load balancer takes the instance out, while every other request is still served, on kept
/// connections and new ones; a second SIGTERM ends the drain at once. The drain here (600 s)
/// is far longer than the test, so it cannot end on its own meanwhile.
async fn sigterm_with_a_drain_time_fails_readyz_and_serves_the_rest_until_a_second_signal(
    mut app: TestApp,
) {
    app.stop().await;
    let drain = [("SESAME_SHUTDOWN_DRAIN_SECS", "600")];
    let mut server = ServerProcess::start_for(&app, None, &drain).await;
    let browser = Browser::new(server.port);
    let mut auth = SoftAuthenticator::new(&server.origin);
    let r = browser.signup_passkey("drain-ada", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    server.send_sigterm();
    let mut readyz = browser.get("/readyz").await;
    for _ in 0..200 {
        if readyz.status != 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        readyz = browser.get("/readyz").await;
    }
    assert_eq!(readyz.status, 503, "{}", readyz.text);
    assert_eq!(readyz.error(), "unavailable");
    assert_eq!(browser.get("/healthz").await.status, 200);
    let r = browser.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["username"], "drain-ada");
    let newcomer = Browser::new(server.port);
    let r = newcomer
        .login_passkey(Some("drain-ada"), &mut auth, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(newcomer.get("/api/v1/session").await.status, 200);
    assert!(server.running(), "the process ended during its drain");
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(5)))
        .await
        .unwrap();
    let status = status.expect("a second SIGTERM ends the drain within 5 s");
    assert!(status.success(), "exit status {status}");
}

/// With a drain time of 1 s the process keeps running at least that long after SIGTERM, then
/// stops by itself with exit status 0.
async fn sigterm_with_a_drain_time_stops_on_its_own_after_it(mut app: TestApp) {
    app.stop().await;
    let drain = [("SESAME_SHUTDOWN_DRAIN_SECS", "1")];
    let mut server = ServerProcess::start_for(&app, None, &drain).await;
    let signalled = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(10)))
        .await
        .unwrap();
    let status = status.expect("the process exits within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(1),
        "stopped {:?} after SIGTERM, before its drain time",
        signalled.elapsed()
    );
}
