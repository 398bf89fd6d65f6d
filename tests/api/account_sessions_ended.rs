//! A session ended while one of its requests is under way: the request's change is not made.
//!
//! The session is checked when a request comes in, before its body is read. A request held
//! there (`Expect: 100-continue`: the server answers `100 Continue` once the session check has
//! passed and the handler reads the body) is the window a stolen session has while the owner
//! signs it out, e.g. while ten recovery codes are hashed. Its change must not commit after
//! the sign-out (OWASP ASVS 5.0 V7.4.1).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use sesame_tests::{Backend, Browser, TestApp, harness::TestFn, tests};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::hardening_slow_clients::token;

pub fn tests() -> Vec<(&'static str, TestFn)> {
    tests![
        a_change_by_a_session_ended_while_it_was_under_way_is_not_made,
        recovery_code_sets_made_at_once_leave_one_set,
    ]
}

/// A request sent up to its body, held until the server has checked its session.
struct Held {
    stream: TcpStream,
    body: String,
}

impl Held {
    async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: &Value) -> Self {
        let body = body.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", app.port))
            .await
            .expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nCookie: sesame_session={token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            app.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let interim = read_until(&mut stream, b"\r\n\r\n").await;
        assert!(
            interim.starts_with("HTTP/1.1 100 Continue"),
            "the session check passed and the body is awaited: {interim}"
        );
        Self { stream, body }
    }

    /// Send the body; the final answer's status and body.
    async fn finish(mut self) -> (u16, Value) {
        self.stream
            .write_all(self.body.as_bytes())
            .await
            .expect("write");
        let head = read_until(&mut self.stream, b"\r\n\r\n").await;
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("an answer: {head}"));
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())
                    .flatten()
            })
            .unwrap_or_else(|| panic!("a Content-Length: {head}"));
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await.expect("the body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

async fn read_until(stream: &mut TcpStream, end: &[u8]) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(end) {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("an interim answer in time")
            .expect("read");
        assert_eq!(n, 1, "connection closed: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn count(events: &Value, kind: &str) -> usize {
    let list = events.as_array().expect("a list");
    list.iter().filter(|e| e["kind"] == kind).count()
}

async fn session_id(browser: &Browser) -> String {
    let r = browser.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session_id"].as_str().expect("an id").to_owned()
}

async fn a_change_by_a_session_ended_while_it_was_under_way_is_not_made(app: TestApp) {
    // The owner's phone and a session someone else got hold of, both recent.
    let mut auth = app.authenticator();
    let owner = app.new_browser();
    let r = owner.signup_passkey("olive", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = owner
        .post("/api/v1/account/recovery-codes", &json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let owners_codes = r.body["codes"].clone();
    for (method, path, body) in [
        ("POST", "/api/v1/account/recovery-codes", json!({})),
        (
            "PUT",
            "/api/v1/account/password",
            json!({"password": "a long and unguessable passphrase"}),
        ),
    ] {
        let stolen = app.new_browser();
        let r = stolen
            .login_passkey(Some("olive"), &mut auth, &Default::default())
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let stolen_token = token(r.set_cookie().expect("a session cookie"));
        let stolen_id = session_id(&stolen).await;

        let held = Held::send(&app, method, path, &stolen_token, &body).await;
        let r = owner
            .delete(&format!("/api/v1/account/sessions/{stolen_id}"))
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        let (status, answer) = held.finish().await;
        assert_eq!(status, 401, "{path}: {answer}");
        assert_eq!(answer["error"], "unauthenticated", "{path}");

        // Nothing changed, and the owner is still signed in.
        let account = owner.get("/api/v1/account").await;
        assert_eq!(account.status, 200, "{path}: the owner is still signed in");
        assert_eq!(account.body["password_set"], false, "{path}");
        assert_eq!(account.body["recovery_codes_remaining"], 10, "{path}");
        let events = owner.get("/api/v1/account/events?limit=100").await.body;
        assert_eq!(count(&events, "recovery_codes_generated"), 1, "{path}");
        assert_eq!(count(&events, "password_set"), 0, "{path}");
    }
    // The owner's own set is the one that works.
    let code = owners_codes[0].as_str().expect("a code");
    let r = app
        .new_browser()
        .post(
            "/api/v1/login/code/start",
            &json!({"username": "olive", "method": "recovery"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let ceremony = r.body["ceremony"].clone();
    let r = app
        .new_browser()
        .post(
            "/api/v1/login/code/finish",
            &json!({"ceremony": ceremony, "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// "Replaces any earlier set" (API.md) holds for sets made at once too (a double click, or two
/// instances hashing in parallel): each replacement runs under the account's lock, so one set
/// of ten is left. On PostgreSQL the two replacements are made to overlap for certain: another
/// transaction holds the old set's rows while both requests reach their writes. Without the
/// account's lock, both `DELETE`s would wait on those rows, find them gone once they are
/// released, and leave both new sets: 20 codes.
async fn recovery_code_sets_made_at_once_leave_one_set(app: TestApp) {
    let mut auth = app.authenticator();
    let r = app.signup_passkey("parker", &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let empty = json!({});
    let r = app.post("/api/v1/account/recovery-codes", &empty).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (db, holding) = (app.db().await, app.db().await);
    let holder = match app.backend {
        Backend::Postgres { .. } => {
            let account = app.get("/api/v1/account").await.body["id"].clone();
            let txn = holding.begin().await.expect("begin");
            let held = format!(
                "SELECT id FROM recovery_code WHERE account_id = '{}' FOR UPDATE",
                account.as_str().expect("an id")
            );
            txn.execute_unprepared(&held).await.expect("lock the set");
            Some(txn)
        }
        Backend::Sqlite => None,
    };
    let release = async {
        let Some(txn) = holder else { return };
        // Both requests wait on a lock: the rows held here, or the account's.
        let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                       WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Postgres, waiting))
                .await
                .expect("pg_stat_activity")
                .expect("a row");
            if row.try_get::<i64>("", "n").expect("a count") >= 2 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "both writes wait on a lock"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        txn.commit().await.expect("commit");
    };
    let (one, two, ()) = tokio::join!(
        app.post("/api/v1/account/recovery-codes", &empty),
        app.post("/api/v1/account/recovery-codes", &empty),
        release,
    );
    for r in [&one, &two] {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = app.get("/api/v1/account/recovery-codes").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["remaining"], 10, "{}", r.text);
}
