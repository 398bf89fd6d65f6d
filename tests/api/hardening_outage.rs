//! Outages of what Sesame depends on: the database (503 `unavailable`, no panic, no session
//! issued, recovery without a restart) and the mail and SMS channels (503 on every code start,
//! no code leaked, nothing left to finish, and it works again afterwards).
//!
//! How the database is taken away, per backend (docs/SECURITY.md "Outages"):
//! - PostgreSQL: a real `sesame` process talks to the shared server through a TCP proxy owned
//!   by the test, which cuts every connection and closes its port (clients see "connection
//!   refused"), then opens it again. Stopping the shared server would break parallel tests.
//! - SQLite: the file is local and every pooled connection holds it open, so permissions and
//!   renames do not touch a running server (and tests run as root, which ignores modes). What
//!   does happen is another process holding the write lock (a backup, a migration, an open
//!   `sqlite3` shell): writers wait the busy timeout and get SQLITE_BUSY. The test holds the
//!   lock; separately it checks that the error a *new* connection gets when the directory is
//!   gone (SQLITE_CANTOPEN) maps to 503.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::{Value, json};
use sesame::error::ApiError;
use sesame_tests::{
    Backend, Browser, SoftAuthenticator, TestApp,
    flows::{login_code_finish, login_code_start, read_code, signup_by_email},
    harness::TestFn,
    process::ServerProcess,
    tests,
};
use tokio::{net::TcpListener, task::JoinHandle};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_database_outage_answers_503_and_recovers_without_a_restart,
        the_error_a_new_sqlite_connection_gets_without_its_directory_maps_to_503,
        a_mail_or_sms_outage_answers_503_on_every_code_start_and_leaves_nothing_stuck,
    ]
}

async fn a_database_outage_answers_503_and_recovers_without_a_restart(app: TestApp) {
    match app.backend.clone() {
        Backend::Sqlite => sqlite_write_lock_outage(app).await,
        Backend::Postgres { .. } => postgres_outage_through_a_proxy(app).await,
    }
}

/// A login started before the outage, ready to finish: (browser, finish body).
async fn prepared_login(browser: &Browser, username: &str, auth: &mut SoftAuthenticator) -> Value {
    let start = browser
        .post(
            "/api/v1/login/passkey/start",
            &json!({"username": username}),
        )
        .await;
    assert_eq!(start.status, 200, "{}", start.text);
    let assertion = auth
        .assert(&start.body["options"], &Default::default())
        .expect("assert");
    json!({"ceremony": start.body["ceremony"], "credential": assertion})
}

/// Bodies for the calls made during an outage: sign-up start, log-in start, code start, `{}`.
fn outage_bodies() -> [Value; 4] {
    [
        json!({"username": "bob"}),
        json!({"username": "alice"}),
        json!({"username": "carol", "channel": "email", "address": "carol@example.com"}),
        json!({}),
    ]
}

async fn session_count(app: &TestApp) -> u64 {
    entity::session::Entity::find()
        .count(&app.db().await)
        .await
        .unwrap()
}

async fn sqlite_write_lock_outage(app: TestApp) {
    let mut alice = app.authenticator();
    assert_eq!(app.signup_passkey("alice", &mut alice).await.status, 201);
    let thief = app.new_browser();
    let finish = prepared_login(&thief, "alice", &mut alice).await;
    let sessions_before = session_count(&app).await;

    // Another process takes the write lock and keeps it.
    let holder = sesame::db::connect(&app.config.database_url, 1)
        .await
        .unwrap();
    let lock = holder
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .unwrap();

    let started = Instant::now();
    let fresh = app.new_browser();
    let bodies = outage_bodies();
    let stranger = app.new_browser();
    let (signup, login_start, login_finish, code_start, logout, reads) = tokio::join!(
        fresh.post("/api/v1/signup/passkey/start", &bodies[0]),
        fresh.post("/api/v1/login/passkey/start", &bodies[1]),
        thief.post("/api/v1/login/passkey/finish", &finish),
        fresh.post("/api/v1/signup/code/start", &bodies[2]),
        stranger.post("/api/v1/logout", &bodies[3]),
        futures::future::join_all(
            ["/healthz", "/readyz", "/api/v1/session", "/api/v1/account"].map(|path| app.get(path))
        ),
    );
    for (what, r) in [
        ("sign-up start", &signup),
        ("log-in start", &login_start),
        ("log-in finish", &login_finish),
        ("code start", &code_start),
    ] {
        assert_eq!(r.status, 503, "{what}: {}", r.text);
        assert_eq!(r.error(), "unavailable", "{what}");
        assert!(r.set_cookie().is_none(), "{what} issued a cookie");
    }
    assert!(
        logout.status == 204 || logout.status == 503,
        "{}",
        logout.text
    );
    // Reads may go on (WAL readers do not wait for the writer) or wait their turn; none of it
    // is a 500.
    for r in &reads {
        assert!(
            r.status == 200 || r.status == 503,
            "{} {}",
            r.status,
            r.text
        );
    }
    eprintln!(
        "SQLite write lock held: writes answered 503 within {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        app.mail.messages().is_empty(),
        "no code went out for a ceremony that was not stored"
    );

    lock.rollback().await.unwrap();
    holder.close().await.unwrap();
    assert_eq!(
        session_count(&app).await,
        sessions_before,
        "no session was issued"
    );
    // Without a restart: the log-in whose finish was refused is still there to finish, once.
    let r = thief.post("/api/v1/login/passkey/finish", &finish).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.new_browser()
            .post("/api/v1/login/passkey/finish", &finish)
            .await
            .status,
        400
    );
    let mut bob = app.authenticator();
    assert_eq!(
        app.new_browser()
            .signup_passkey("bob", &mut bob)
            .await
            .status,
        201
    );
    assert_eq!(app.get("/readyz").await.status, 200);
}

/// A TCP forwarder to PostgreSQL that the test can take down (every connection cut, the port
/// closed) and bring back on the same port.
struct PgProxy {
    port: u16,
    upstream: String,
    state: Arc<Mutex<Option<JoinHandle<()>>>>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl PgProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            upstream,
            state: Arc::new(Mutex::new(None)),
            pipes: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let pipes = self.pipes.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                pipes.lock().unwrap().push(pipe);
            }
        });
        *self.state.lock().unwrap() = Some(accept);
    }

    /// Cut every connection and close the port.
    async fn down(&self) {
        if let Some(accept) = self.state.lock().unwrap().take() {
            accept.abort();
        }
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Listen on the same port again.
    async fn up(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("rebinding the proxy port: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind the proxy port: {e}"),
            }
        };
        self.serve(listener);
    }
}

async fn postgres_outage_through_a_proxy(app: TestApp) {
    let mut url = url::Url::parse(&app.config.database_url).unwrap();
    let upstream = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    );
    let proxy = PgProxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();
    let process =
        ServerProcess::start_for(&app, None, &[("SESAME_DATABASE_URL", url.as_str())]).await;
    let browser = Browser::new(process.port);
    let mut alice = SoftAuthenticator::new(&process.origin);
    assert_eq!(
        browser.signup_passkey("alice", &mut alice).await.status,
        201
    );
    let thief = Browser::new(process.port);
    let finish = prepared_login(&thief, "alice", &mut alice).await;
    let sessions_before = session_count(&app).await;

    proxy.down().await;
    let started = Instant::now();
    let fresh = Browser::new(process.port);
    let bodies = outage_bodies();
    let (signup, login_start, login_finish, code_start, session, account, ready) = tokio::join!(
        fresh.post("/api/v1/signup/passkey/start", &bodies[0]),
        fresh.post("/api/v1/login/passkey/start", &bodies[1]),
        thief.post("/api/v1/login/passkey/finish", &finish),
        fresh.post("/api/v1/signup/code/start", &bodies[2]),
        browser.get("/api/v1/session"),
        browser.get("/api/v1/account"),
        browser.get("/readyz"),
    );
    for (what, r) in [
        ("sign-up start", &signup),
        ("log-in start", &login_start),
        ("log-in finish", &login_finish),
        ("code start", &code_start),
        ("session", &session),
        ("account", &account),
        ("readyz", &ready),
    ] {
        assert_eq!(r.status, 503, "{what}: {}", r.text);
        if what != "readyz" {
            assert_eq!(r.error(), "unavailable", "{what}");
        }
        assert!(r.set_cookie().is_none(), "{what} issued a cookie");
    }
    eprintln!(
        "PostgreSQL down: every call answered 503 within {:?}",
        started.elapsed()
    );
    assert_eq!(
        browser.get("/healthz").await.status,
        200,
        "the process lives"
    );
    assert_eq!(
        session_count(&app).await,
        sessions_before,
        "no session was issued"
    );

    proxy.up().await;
    let mut ready = false;
    for _ in 0..100 {
        if browser.get("/readyz").await.status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again without a restart");
    assert_eq!(
        browser.get("/api/v1/session").await.status,
        200,
        "the old session lives"
    );
    let r = thief.post("/api/v1/login/passkey/finish", &finish).await;
    assert_eq!(
        r.status, 200,
        "the refused finish can be finished once: {}",
        r.text
    );
    let r = Browser::new(process.port)
        .login_passkey(Some("alice"), &mut alice, &Default::default())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut bob = SoftAuthenticator::new(&process.origin);
    assert_eq!(
        Browser::new(process.port)
            .signup_passkey("bob", &mut bob)
            .await
            .status,
        201
    );
    proxy.down().await;
}

async fn the_error_a_new_sqlite_connection_gets_without_its_directory_maps_to_503(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("data");
    std::fs::create_dir(&db_dir).unwrap();
    let url = format!("sqlite://{}/sesame.db?mode=rwc", db_dir.display());
    // The directory is moved away and a file put in its place, as a botched deploy might.
    std::fs::rename(&db_dir, dir.path().join("moved")).unwrap();
    std::fs::write(&db_dir, b"not a directory").unwrap();
    let err = sea_orm::Database::connect(&url)
        .await
        .expect_err("cannot open");
    assert!(sesame::error::db_unavailable(&err), "{err}");
    let api: ApiError = err.into();
    assert_eq!(api.status_code().as_u16(), 503);
    assert_eq!(api.code(), "unavailable");
    // PostgreSQL refusing connections (nothing listens on the port) maps the same way.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut options =
        sea_orm::ConnectOptions::new(format!("postgres://postgres@127.0.0.1:{port}/x"));
    options
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2));
    let err = sea_orm::Database::connect(options)
        .await
        .expect_err("nothing listens");
    assert_eq!(ApiError::from(err).code(), "unavailable");
    let _ = app;
}

async fn a_mail_or_sms_outage_answers_503_on_every_code_start_and_leaves_nothing_stuck(
    app: TestApp,
) {
    use sesame_fakes::SinkMode;
    assert_eq!(
        signup_by_email(&app, &app.browser, "judy", "judy@example.com")
            .await
            .status,
        201
    );
    let db = app.db().await;
    let ceremonies = || async { entity::ceremony::Entity::find().count(&db).await.unwrap() };
    let baseline = ceremonies().await;
    let sent = app.mail.messages().len();
    let someone = app.new_browser();

    for mode in [SinkMode::RefuseMail, SinkMode::RefuseData] {
        app.mail.set_mode(mode);
        app.clock.advance_secs(31); // past the resend gap, so each start really tries to send
        let login = someone
            .post(
                "/api/v1/login/code/start",
                &json!({"username": "judy", "method": "email"}),
            )
            .await;
        let contact = app
            .post(
                "/api/v1/account/contacts/start",
                &json!({"channel": "email", "address": "judy.work@example.com"}),
            )
            .await;
        let signup = someone
            .post(
                "/api/v1/signup/code/start",
                &json!({"username": "kim", "channel": "email", "address": "kim@example.com"}),
            )
            .await;
        for (what, r) in [
            ("log-in", &login),
            ("contact", &contact),
            ("sign-up", &signup),
        ] {
            assert_eq!(r.status, 503, "{mode:?} {what}: {}", r.text);
            assert_eq!(r.error(), "unavailable");
            assert!(
                !r.text.chars().any(|c| c.is_ascii_digit()),
                "{what}: {}",
                r.text
            );
        }
        assert_eq!(
            ceremonies().await,
            baseline,
            "{mode:?}: nothing was left to finish"
        );
    }
    assert_eq!(app.mail.messages().len(), sent, "nothing was delivered");

    // The SMS provider failing (the webhook answers 500) is the same.
    app.sms.set_status(500);
    app.clock.advance_secs(31);
    let sms_contact = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "sms", "address": "+44 7911 123456"}),
        )
        .await;
    let sms_signup = someone
        .post(
            "/api/v1/signup/code/start",
            &json!({"username": "lee", "channel": "sms", "address": "+44 7911 123457"}),
        )
        .await;
    for r in [&sms_contact, &sms_signup] {
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(!r.text.chars().any(|c| c.is_ascii_digit()), "{}", r.text);
    }
    assert_eq!(ceremonies().await, baseline);

    // Back up: everything works again, without waiting on anything the outage left behind.
    app.mail.set_mode(SinkMode::Accept);
    app.sms.set_status(200);
    app.clock.advance_secs(31);
    let ceremony = login_code_start(&someone, "judy", "email").await;
    let code = read_code(&app, "judy@example.com").await;
    assert_eq!(
        login_code_finish(&someone, &ceremony, &code, None)
            .await
            .status,
        200
    );
    let start = app
        .post(
            "/api/v1/account/contacts/start",
            &json!({"channel": "email", "address": "judy.work@example.com"}),
        )
        .await;
    assert_eq!(start.status, 202, "{}", start.text);
    let code = read_code(&app, "judy.work@example.com").await;
    let r = app
        .post(
            "/api/v1/account/contacts/finish",
            &json!({"ceremony": start.body["ceremony"], "code": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let signup = signup_by_email(&app, &app.new_browser(), "kim", "kim@example.com").await;
    assert_eq!(signup.status, 201, "{}", signup.text);

    // A mail server that is gone altogether (connection refused).
    app.mail.stop();
    app.clock.advance_secs(31);
    let r = someone
        .post(
            "/api/v1/login/code/start",
            &json!({"username": "judy", "method": "email"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
}
