//! The databases the tests run on: a SQLite file, or a fresh PostgreSQL database per test,
//! created at the start and dropped at the end of the run.

/// Which database the test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

/// `postgres://user@host:port/db` with the database name replaced.
pub(super) fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("SESAME_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub(super) async fn create_pg_database(admin_url: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
}

/// Every PostgreSQL database the run created; dropped at the end of the run.
pub(super) static PG_DATABASES: std::sync::Mutex<Vec<(String, String)>> =
    std::sync::Mutex::new(Vec::new());

/// Drop the per-test PostgreSQL databases.
pub async fn drop_pg_databases() {
    let created = PG_DATABASES
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    for (admin_url, name) in created {
        drop_pg_database(&admin_url, &name).await;
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    if let Ok(admin) = sea_orm::Database::connect(admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}
