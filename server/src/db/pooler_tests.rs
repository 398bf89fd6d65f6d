//! Through a connection pooler: PgBouncer in session mode with its default settings
//! (docs/DEPLOY.md). PgBouncer refuses a connection that sends a startup parameter it does not
//! track ("unsupported startup parameter"); before, Sesame sent two (sqlx's
//! `extra_float_digits`, and `options` with the statement timeout) and could not connect, and
//! ignoring `options` in PgBouncer would have dropped the timeout without a word.
//!
//! PgBouncer comes from Debian (`apt-get install pgbouncer`; `.ci/run` installs it). Runs when
//! `SESAME_TEST_POSTGRES_URL` is set; without PgBouncer it says so and passes, unless
//! `SESAME_TEST_REQUIRE_ALL=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{path::PathBuf, time::Duration};

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

/// The PgBouncer binary, if installed (`SESAME_TEST_PGBOUNCER` overrides the path).
fn pgbouncer() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SESAME_TEST_PGBOUNCER") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// PgBouncer in front of the database of `url`, until dropped; its own URL.
struct PgBouncer {
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
    url: String,
}

impl PgBouncer {
    async fn start(binary: &std::path::Path, url: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let target = webauthn_rs::prelude::Url::parse(url).unwrap();
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        // Settings a deployment would change; everything else (`ignore_startup_parameters`
        // among them) as PgBouncer ships.
        // `auth_type = any`: PgBouncer logs in as this user, with this password if any.
        let password = target
            .password()
            .map(|p| format!(" password={p}"))
            .unwrap_or_default();
        let ini = format!(
            "[databases]\n* = host={host} port={db_port} user={user}{password}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = any\n\
             pool_mode = session\nunix_socket_dir =\n",
            host = target.host_str().unwrap(),
            db_port = target.port().unwrap_or(5432),
            user = target.username(),
        );
        let conf = dir.path().join("pgbouncer.ini");
        std::fs::write(&conf, ini).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut command = tokio::process::Command::new(binary);
        // It will not run as root: it then drops to `nobody`.
        if is_root() {
            command.arg("-u").arg("nobody");
        }
        let child = command.arg(&conf).kill_on_drop(true).spawn().unwrap();
        let mut path_url = target.clone();
        path_url.set_port(Some(port)).unwrap();
        path_url.set_host(Some("127.0.0.1")).unwrap();
        let bouncer = Self {
            child,
            _dir: dir,
            url: path_url.to_string(),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return bouncer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("PgBouncer did not start on port {port}");
    }

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

#[tokio::test]
async fn sesame_connects_through_pgbouncer_and_keeps_its_statement_timeout() {
    let Some(scratch) = super::scratch::ScratchDatabase::create("pooler").await else {
        return;
    };
    let Some(binary) = pgbouncer() else {
        assert!(
            std::env::var("SESAME_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "PgBouncer is not installed, and SESAME_TEST_REQUIRE_ALL=1 says every test must run"
        );
        eprintln!("SKIPPED: PgBouncer is not installed (apt-get install pgbouncer)");
        let db = super::connect(&scratch.url, 1).await.unwrap();
        scratch.drop(db).await;
        return;
    };
    let bouncer = PgBouncer::start(&binary, &scratch.url).await;
    let db = super::connect(&bouncer.url, 2)
        .await
        .expect("connects through PgBouncer");
    super::migrate(&db).await.unwrap();
    // Every connection of the pool, not only the first: both, held at once.
    let (a, b) = (db.begin().await.unwrap(), db.begin().await.unwrap());
    assert_eq!(show_timeout(&a).await, "10s");
    assert_eq!(show_timeout(&b).await, "10s");
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    db.close().await.unwrap();
    bouncer.stop().await;
    let direct = super::connect(&scratch.url, 1).await.unwrap();
    assert_eq!(show_timeout(&direct).await, "10s");
    scratch.drop(direct).await;
}

/// The connection's `statement_timeout`.
async fn show_timeout<C: ConnectionTrait>(db: &C) -> String {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('statement_timeout')",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}
