//! Outages of what Sesame depends on: the database (503 `unavailable`, no panic, no session
//! issued, recovery without a restart) and the mail and SMS channels (503 on every code start,
//! no code leaked, nothing left to finish, and it works again afterwards; in
//! `hardening_outage_channels.rs`).
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

use std::time::{Duration, Instant};

use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::{Value, json};
use sesame::error::ApiError;
use sesame_tests::{Backend, Browser, SoftAuthenticator, TestApp, harness::TestFn, tests};

use crate::hardening_outage_postgres::postgres_outage_through_a_proxy;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_database_outage_answers_503_and_recovers_without_a_restart,
        the_error_a_new_sqlite_connection_gets_without_its_directory_maps_to_503,
        a_read_only_or_cancelling_database_maps_to_503,
    ]
}

/// The errors of a database that is there but refuses the work for now map to 503, from the
/// real driver: PostgreSQL read-only after a fail-over (SQLSTATE 25006) and a statement
/// cancelled by its timeout (57014), both all digits, like SQLite's numeric codes; SQLite's
/// READONLY (8).
async fn a_read_only_or_cancelling_database_maps_to_503(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let db = app.db().await;
    let mut errors = Vec::new();
    match app.backend {
        Backend::Postgres { .. } => {
            // Each statement in a transaction of its own, after the setting that makes it fail.
            for (what, setting, statement) in [
                (
                    "read-only, 25006",
                    "SET TRANSACTION READ ONLY",
                    "CREATE TABLE read_only_probe (x int)",
                ),
                (
                    "statement timeout, 57014",
                    "SET LOCAL statement_timeout = '10ms'",
                    "SELECT pg_sleep(2)",
                ),
            ] {
                let txn = db.begin().await.unwrap();
                txn.execute_unprepared(setting).await.unwrap();
                let err = txn.execute_unprepared(statement).await.expect_err(what);
                errors.push((what, err));
            }
        }
        Backend::Sqlite => {
            let path = app.config.database_url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap_or(path);
            let read_only = sea_orm::Database::connect(format!("sqlite://{path}?mode=ro"))
                .await
                .unwrap();
            let err = read_only
                .execute_unprepared("CREATE TABLE read_only_probe (x int)")
                .await
                .expect_err("read-only");
            errors.push(("read-only, 8", err));
        }
    }
    for (what, err) in errors {
        assert!(sesame::error::db_unavailable(&err), "{what}: {err}");
        let api: ApiError = err.into();
        assert_eq!(api.status_code().as_u16(), 503, "{what}");
        assert_eq!(api.code(), "unavailable", "{what}");
    }
}

async fn a_database_outage_answers_503_and_recovers_without_a_restart(app: TestApp) {
    match app.backend.clone() {
        Backend::Sqlite => sqlite_write_lock_outage(app).await,
        Backend::Postgres { .. } => postgres_outage_through_a_proxy(app).await,
    }
}

/// A login started before the outage, ready to finish: (browser, finish body).
pub(crate) async fn prepared_login(
    browser: &Browser,
    username: &str,
    auth: &mut SoftAuthenticator,
) -> Value {
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
pub(crate) fn outage_bodies() -> [Value; 4] {
    [
        json!({"username": "bob"}),
        json!({"username": "alice"}),
        json!({"username": "carol", "channel": "email", "address": "carol@example.com"}),
        json!({}),
    ]
}

pub(crate) async fn session_count(app: &TestApp) -> u64 {
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
