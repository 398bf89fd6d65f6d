//! Unit tests on PostgreSQL: a database of their own on the server `SESAME_TEST_POSTGRES_URL`
//! names (as in CI), dropped at the end; and on SQLite, a migrated file in a temporary directory.

#![allow(clippy::unwrap_used)]

use sea_orm::{ConnectionTrait, DatabaseConnection};

pub struct ScratchDatabase {
    admin: DatabaseConnection,
    name: String,
    /// The new database's URL.
    pub url: String,
}

impl ScratchDatabase {
    /// A new, empty database named `{prefix}_{random}`, or `None` (with a note on stderr) when
    /// `SESAME_TEST_POSTGRES_URL` is not set.
    pub async fn create(prefix: &str) -> Option<Self> {
        let Ok(admin_url) = std::env::var("SESAME_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("SESAME_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
                "SESAME_TEST_POSTGRES_URL is not set, and SESAME_TEST_REQUIRE_ALL=1 says every \
                 test must run"
            );
            eprintln!("SKIPPED: SESAME_TEST_POSTGRES_URL is not set");
            return None;
        };
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = super::connect(&admin_url, 1).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let mut url = webauthn_rs::prelude::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        Some(Self {
            admin,
            name,
            url: url.to_string(),
        })
    }

    /// Run `sql` on the server as the administrator (`{name}`: this database's name).
    pub async fn admin(&self, sql: &str) {
        self.admin
            .execute_unprepared(&sql.replace("{name}", &self.name))
            .await
            .unwrap();
    }

    /// Drop the database; `db`, its pool, is closed first.
    pub async fn drop(self, db: DatabaseConnection) {
        db.close().await.unwrap();
        self.admin("DROP DATABASE {name}").await;
    }
}

/// A migrated SQLite database in a new temporary directory: the directory (removed when it is
/// dropped, so keep it for the test's length), the database's URL and a connection to it.
pub async fn sqlite() -> (tempfile::TempDir, String, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/{SQLITE_FILE}", dir.path().display());
    let db = super::connect(&url, 1).await.unwrap();
    super::migrate(&db).await.unwrap();
    (dir, url, db)
}

/// The file name of [`sqlite`]'s database inside its directory.
pub const SQLITE_FILE: &str = "s.db";
