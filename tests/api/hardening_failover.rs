//! PostgreSQL closing Sesame's connections under it, as a fail-over, a restart or an operator's
//! `pg_terminate_backend` does: every connection idle in the pool is gone, and nothing tells
//! the pool. No request may answer 5xx for it (`server/src/db/liveness.rs`): the first
//! statement that meets a closed connection is sent again where that is safe, and every other
//! connection idle since then is tested before it is handed out.

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use sesame_tests::{Backend, TestApp, flows::login_code_start, harness::TestFn, tests};

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        database_connections_killed_by_the_server_are_replaced_without_a_5xx,
        every_call_made_without_a_session_survives_being_the_first_after_a_kill,
    ]
}

/// One test that kills connections at a time. Which connections are tested before use is kept
/// for the whole process (`db::liveness`), and the tests share one: a loss noticed by the other
/// test between a kill and the call after it would have the call's connection tested first,
/// and the call would pass without sending anything again.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An administrator's connection that ends every other connection to the app's database.
struct Killer {
    admin: DatabaseConnection,
    kill_all: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Killer {
    /// `None` on SQLite, which has no server to close connections.
    /// `None` on SQLite, which has no server connections to kill: the test then says it was
    /// skipped there (it runs in the PostgreSQL half).
    async fn for_app(app: &TestApp, test: &str) -> Option<Self> {
        let Backend::Postgres { admin_url } = app.backend.clone() else {
            eprintln!("SKIPPED on SQLite (it has no server connections to kill): {test}");
            return None;
        };
        let name = url::Url::parse(&app.config.database_url)
            .unwrap()
            .path()
            .trim_start_matches('/')
            .to_owned();
        // Like a fail-over or `pg_terminate_backend` by an operator: 57P01 on every
        // connection. The 5 s timeout makes it wait until each backend is gone.
        let kill_all = format!(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        );
        let _turn = ONE_AT_A_TIME.lock().await;
        let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
        Some(Self {
            admin,
            kill_all,
            _turn,
        })
    }

    async fn kill(&self) {
        self.admin.execute_unprepared(&self.kill_all).await.unwrap();
    }
}

async fn database_connections_killed_by_the_server_are_replaced_without_a_5xx(app: TestApp) {
    let test = "database_connections_killed_by_the_server_are_replaced_without_a_5xx";
    let Some(killer) = Killer::for_app(&app, test).await else {
        return;
    };
    let mut alice = app.authenticator();
    assert_eq!(app.signup_passkey("alice", &mut alice).await.status, 201);
    let mut bob = app.authenticator();
    let bob_browser = app.new_browser();
    assert_eq!(
        bob_browser.signup_passkey("bob", &mut bob).await.status,
        201
    );
    let plain = sesame_softauth::Tamper::default();
    for round in 0..3 {
        // A log-in alone: its first statement, saving the new ceremony, meets a closed
        // connection and is sent again (a fresh id: stored once either way).
        killer.kill().await;
        let r = app
            .new_browser()
            .login_passkey(None, &mut bob, &plain)
            .await;
        assert_eq!(r.status, 200, "round {round}, alone: {}", r.text);

        killer.kill().await;
        // Everything at once, right after the kill: session checks (pinned reads, read again
        // on a tested connection), and log-ins by name and by discoverable passkey (reads on
        // the pool, read again; transactions, whose `BEGIN` is sent again). The first statement
        // that finds its connection closed has every connection idle since tested before it
        // is handed out (`db::liveness`): nothing answers 503.
        let checks = futures::future::join_all((0..4).map(|_| app.get("/api/v1/session")));
        let (alice_browser, someone) = (app.new_browser(), app.new_browser());
        let by_name = alice_browser.login_passkey(Some("alice"), &mut alice, &plain);
        let discoverable = someone.login_passkey(None, &mut bob, &plain);
        let bob_page = bob_browser.get("/api/v1/account");
        let (checks, by_name, discoverable, bob_page) =
            futures::join!(checks, by_name, discoverable, bob_page);
        let statuses: Vec<u16> = checks.iter().map(|r| r.status).collect();
        assert!(
            statuses.iter().all(|s| *s == 200),
            "round {round}: session checks {statuses:?}"
        );
        assert_eq!(by_name.status, 200, "round {round}: {}", by_name.text);
        assert_eq!(
            discoverable.status, 200,
            "round {round}: {}",
            discoverable.text
        );
        assert_eq!(bob_page.status, 200, "round {round}: {}", bob_page.text);
    }
    killer.admin.close().await.ok();
}

/// Each call that needs no session, made alone right after every connection was closed, so that
/// its own first statement is the one to find out: a read (the account, the ceremony, the
/// recovery link), the ceremony's `INSERT`, a `BEGIN` or `/readyz`'s ping. Authenticated calls
/// start with the session check, which the test above covers.
async fn every_call_made_without_a_session_survives_being_the_first_after_a_kill(app: TestApp) {
    let test = "every_call_made_without_a_session_survives_being_the_first_after_a_kill";
    let Some(killer) = Killer::for_app(&app, test).await else {
        return;
    };
    let mut alice = app.authenticator();
    assert_eq!(app.signup_passkey("alice", &mut alice).await.status, 201);
    let plain = sesame_softauth::Tamper::default();
    for round in 0..2 {
        let pending = login_code_start(&app.new_browser(), "alice", "totp").await;
        let leaving = app.new_browser();
        let r = leaving
            .login_passkey(Some("alice"), &mut alice, &plain)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let calls = [
            ("GET", "/readyz", json!(null), 200),
            (
                "POST",
                "/api/v1/signup/passkey/start",
                json!({"username": format!("carol{round}")}),
                200,
            ),
            (
                "POST",
                "/api/v1/signup/code/start",
                json!({"username": format!("dave{round}"), "channel": "email",
                    "address": format!("dave{round}@example.com")}),
                202,
            ),
            (
                "POST",
                "/api/v1/login/passkey/start",
                json!({"username": "alice"}),
                200,
            ),
            (
                "POST",
                "/api/v1/login/code/start",
                json!({"username": "alice", "method": "totp"}),
                202,
            ),
            (
                "POST",
                "/api/v1/login/code/finish",
                json!({"ceremony": pending, "code": "000000"}),
                401,
            ),
            (
                "POST",
                "/api/v1/recover/start",
                json!({"token": "not-a-link"}),
                400,
            ),
            ("POST", "/api/v1/logout", json!({}), 204),
        ];
        let mut unexpected = Vec::new();
        for (method, path, body, expected) in calls {
            killer.kill().await;
            let browser = if path == "/api/v1/logout" {
                &leaving
            } else {
                &app.browser
            };
            let r = match method {
                "GET" => browser.get(path).await,
                _ => browser.post(path, &body).await,
            };
            if r.status != expected {
                unexpected.push(format!("{method} {path}: {} {}", r.status, r.text));
            }
        }
        assert!(unexpected.is_empty(), "round {round}: {unexpected:#?}");
        let r = leaving.get("/api/v1/session").await;
        assert_eq!(r.status, 401, "the log-out happened: {}", r.text);
    }
    killer.admin.close().await.ok();
}
