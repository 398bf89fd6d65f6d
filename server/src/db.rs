//! Connecting to SQLite or PostgreSQL and applying migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// The most connections a SQLite pool gets, whatever `SESAME_DATABASE_MAX_CONNECTIONS` says.
/// SQLite lets one connection write at a time; more connections only queue on that lock
/// (its busy handler sleeps 1–100 ms between retries), and each one costs a thread and a
/// page cache. Measured with `sesame-bench` (docs/PERFORMANCE.md): 4 connections serve as
/// many log-ins per second as 8, with about half the p99 latency of writes and ~10 MiB less
/// memory after a run.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Open the pool. SQLite: the file and its directory are created, WAL journal,
/// `synchronous=NORMAL` (durable across process crashes; WAL keeps the file consistent),
/// foreign keys on, a busy timeout so concurrent writers wait instead of failing, at most
/// [`SQLITE_MAX_CONNECTIONS`] connections, and a 1 MiB page cache per connection (the
/// operating system caches the file as well).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut max_connections = max_connections.max(1);
    if sqlite && max_connections > SQLITE_MAX_CONNECTIONS {
        tracing::info!(
            configured = max_connections,
            used = SQLITE_MAX_CONNECTIONS,
            "SQLite allows one writer at a time; the pool is capped"
        );
        max_connections = SQLITE_MAX_CONNECTIONS;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if sqlite {
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir).map_err(|e| {
                DbErr::Custom(format!("cannot create the database directory {dir}: {e}"))
            })?;
        }
        options.map_sqlx_sqlite_opts(|opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .pragma("temp_store", "memory")
                // Negative: KiB. The default is 2 MiB per connection.
                .pragma("cache_size", "-1024")
                .statement_cache_capacity(256)
        });
    } else {
        options.statement_timeout(Duration::from_secs(10));
    }
    Database::connect(options).await
}

/// The directory part of a `sqlite://dir/file.db` URL, if any.
fn sqlite_dir(url: &str) -> Option<String> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let parent = std::path::Path::new(path).parent()?;
    let parent = parent.to_str()?;
    (!parent.is_empty()).then(|| parent.to_owned())
}

/// Apply every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
