//! Connecting to SQLite or PostgreSQL and applying migrations.

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

#[cfg(test)]
mod build_tests;
mod checkpoint;
pub mod liveness;
#[cfg(test)]
mod migrate_tests;
pub mod pinned;
#[cfg(test)]
mod pooler_tests;
pub mod read_pool;
pub mod reads;
pub mod schema;
#[cfg(test)]
pub mod scratch;
pub mod writer;
pub mod writes;

pub use pinned::PinnedReads;
pub use read_pool::ReadPool;
pub use reads::{InlineReads, Reads, is_inline_unique_violation};
pub use schema::migrate;
pub use writer::Writer;
pub use writes::{Exec, InlineWriter, WriteConn, WriteTxn};

/// The most connections Sesame opens to one SQLite file, whatever
/// `SESAME_DATABASE_MAX_CONNECTIONS` says: one writer and up to three readers (see
/// [`writer_connections`] and [`connect_reads`]). Each connection costs a thread and a page cache.
pub const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// The server's connections. On PostgreSQL both are the same pool. On SQLite `db` is a pool
/// of **one** connection: it creates the file and applies the migrations, `/readyz` pings it,
/// and for an in-memory database every write goes through it; the writes to a file go
/// through the writer thread's own connection instead ([`Writer`], [`writes`]). `reads` is a pool of read-only connections for the reads that stand alone, and
/// `inline` runs the hottest of those (the session check, the log-in's look-ups, the account
/// body) on the calling thread instead (see [`reads`]). Opened by [`connect`] with
/// [`writer_connections`], then [`connect_reads`] and [`connect_inline`].
///
/// Why one writer: SQLite lets one connection write at a time. When two connections of one
/// process both want to write, the loser waits in SQLite's busy handler, which *sleeps*
/// 1, 2, 5, 10 … 100 ms between retries, whatever happened meanwhile. With one writer
/// connection, writers queue for it (first come, first served) and are woken the
/// moment it is free. Measured with `sesame-bench` (docs/performance-history.md).
/// WAL mode lets the readers run while the writer writes; a reader sees every transaction
/// that committed before its statement began, so a read right after a committed write sees
/// it.
#[derive(Clone, Debug)]
pub struct Pools {
    pub db: DatabaseConnection,
    pub reads: ReadPool,
    /// SQLite only (a file, not `:memory:`): the hot reads on the calling thread.
    pub inline: Option<std::sync::Arc<InlineReads>>,
}

/// The readers that run on the calling thread ([`InlineReads`]) for a SQLite file; `None` on
/// PostgreSQL and for an in-memory SQLite database (which exists only inside the writer's
/// connection).
pub fn connect_inline(url: &str) -> Result<Option<std::sync::Arc<InlineReads>>, DbErr> {
    sqlite_file(url)
        .map(|path| InlineReads::open(path.into()).map(std::sync::Arc::new))
        .transpose()
}

/// The writer thread's own connection ([`InlineWriter`]) for a SQLite file, opened after the
/// migrations; `None` on PostgreSQL and for an in-memory SQLite database.
pub fn connect_inline_writer(url: &str) -> Result<Option<InlineWriter>, DbErr> {
    sqlite_file(url)
        .map(|path| InlineWriter::open(path.as_ref()))
        .transpose()
}

/// The file of a SQLite URL; `None` for PostgreSQL and an in-memory database.
fn sqlite_file(url: &str) -> Option<&str> {
    if is_sqlite(url) {
        sqlite_path(url)
    } else {
        None
    }
}

/// How many connections the pool that writes gets: one on SQLite (see [`Pools`]).
pub fn writer_connections(url: &str, max_connections: u32) -> u32 {
    if is_sqlite(url) { 1 } else { max_connections }
}

/// The pool for stand-alone reads, opened after `db` (made with [`writer_connections`]) has
/// created the database and applied the migrations. On PostgreSQL and for an in-memory SQLite
/// database it is `db` itself. Either way its reads are sent again on a connection the server
/// closed ([`ReadPool`]).
pub async fn connect_reads(
    url: &str,
    db: &DatabaseConnection,
    max_connections: u32,
) -> Result<ReadPool, DbErr> {
    // An in-memory SQLite database lives inside `db`'s one connection: another connection
    // would open another, empty database. Every read goes through `db` then.
    if !is_sqlite(url) || sqlite_path(url).is_none() {
        return Ok(ReadPool::new(db.clone()));
    }
    let readers = max_connections.clamp(2, SQLITE_MAX_CONNECTIONS) - 1;
    let mut options = sqlite_options(url, readers);
    options.map_sqlx_sqlite_opts(|opts| {
        // The writer created the file and chose WAL; `query_only` makes a write through a
        // reader fail at once instead of queueing behind the writer. A reader's page cache
        // is emptied whenever it sees that another connection has written (in WAL mode,
        // at the start of its next read), which under load is every few statements: a big
        // cache would only hold memory. 256 KiB covers one look-up's pages many times over.
        opts.create_if_missing(false)
            .pragma("query_only", "1")
            .pragma("cache_size", "-256")
    });
    Database::connect(options).await.map(ReadPool::new)
}

/// PostgreSQL's `statement_timeout` on every connection: a statement running longer (a lock
/// waited for, a plan gone wrong) is cancelled by the server.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long Sesame waits for the database to answer where nothing else bounds the wait (the
/// session check's pinned reads, the clean-up's writes): well past [`STATEMENT_TIMEOUT`], so a
/// wait that long is on a connection that no longer answers at all. A host that died, or a
/// network that drops packets without closing connections (a fail-over by DNS, a NAT mapping
/// gone), leaves its sockets open: sqlx sets no TCP keepalive, and the kernel gives up on one
/// only after about 15 minutes (`net.ipv4.tcp_retries2`).
pub const ANSWER_DEADLINE: Duration = STATEMENT_TIMEOUT.saturating_add(Duration::from_secs(5));

/// Open one pool. SQLite: the file and its directory are created, WAL journal,
/// `synchronous=NORMAL` (durable across process crashes; WAL keeps the file consistent),
/// foreign keys on, a busy timeout so a writer of *another process* (a second instance, an
/// admin command) is waited for instead of failing, at most [`SQLITE_MAX_CONNECTIONS`]
/// connections, and a 1 MiB page cache per connection (the operating system caches the file
/// as well).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if is_sqlite(url) {
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir).map_err(|e| {
                DbErr::Custom(format!("cannot create the database directory {dir}: {e}"))
            })?;
        }
        return Database::connect(sqlite_options(url, max_connections)).await;
    }
    let mut options = common_options(url, max_connections);
    // A ping per check-out is a network round trip per statement. Only connections idle long
    // enough to have been dropped by a firewall, or idle since before the server was seen
    // closing connections, are tested ([`liveness`]).
    options
        .test_before_acquire(false)
        .map_sqlx_postgres_before_acquire(liveness::before_acquire)
        // No startup parameter a connection pooler would refuse (PgBouncer answers
        // "unsupported startup parameter" to any it does not track, unless told to ignore it):
        // not sqlx's `extra_float_digits` (Sesame stores no floating-point column), and not
        // `options`, where sea-orm's `statement_timeout` setting would put the timeout; it is
        // set on each new connection instead, which a pooler in session mode keeps for as long
        // as Sesame holds the connection (docs/DEPLOY.md).
        .map_sqlx_postgres_opts(|pg| pg.extra_float_digits(None))
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_connect(|conn, _| {
                let set = format!("SET statement_timeout = {}", STATEMENT_TIMEOUT.as_millis());
                Box::pin(async move {
                    sea_orm::sqlx::Executor::execute(conn, sea_orm::sqlx::AssertSqlSafe(set))
                        .await
                        .map(|_| ())
                })
            })
        });
    Database::connect(options)
        .await
        .map_err(|e| without_url(e, url))
}

/// `err` without the connection string in its text (sqlx repeats the whole string when it
/// cannot read it, password and all), so that it can be printed and logged; the error keeps
/// its kind ([`crate::error::db_unavailable`]).
fn without_url(err: DbErr, url: &str) -> DbErr {
    let text = err.to_string();
    if !text.contains(url) {
        return err;
    }
    let text = text.replace(url, &crate::config::redacted_database_url(url));
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
            DbErr::Conn(sea_orm::RuntimeErr::Internal(text))
        }
        _ => DbErr::Custom(text),
    }
}

/// For commands that read a database and must not create one (`migrate --status`, the
/// `account` commands): a SQLite file that does not exist is an error naming it (a mistyped
/// `SESAME_DATABASE_URL`), where [`connect`] would create an empty database there.
pub fn require_existing(url: &str) -> Result<(), DbErr> {
    match sqlite_path(url) {
        Some(path) if is_sqlite(url) && !std::path::Path::new(path).exists() => Err(DbErr::Custom(
            format!("there is no database at {path} (SESAME_DATABASE_URL)"),
        )),
        _ => Ok(()),
    }
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn common_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    options
}

fn sqlite_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut max_connections = max_connections.max(1);
    if max_connections > SQLITE_MAX_CONNECTIONS {
        tracing::info!(
            configured = max_connections,
            used = SQLITE_MAX_CONNECTIONS,
            "SQLite allows one writer at a time; the pool is capped"
        );
        max_connections = SQLITE_MAX_CONNECTIONS;
    }
    let mut options = common_options(url, max_connections);
    // sqlx pings a pooled connection on every check-out by default. A SQLite connection lives
    // in this process (nothing can drop it), and the ping is one more hand-off to its worker
    // thread for every statement outside a transaction.
    options.test_before_acquire(false);
    if sqlite_path(url).is_none() {
        // An in-memory database ends with its connection: the pool must never close it for
        // being idle or old (sqlx's defaults: 10 and 30 minutes).
        options.idle_timeout(None).max_lifetime(None);
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
    options
}

/// The file of a `sqlite://dir/file.db?…` URL; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<&str> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    (!memory).then_some(path)
}

/// The directory part of a `sqlite://dir/file.db` URL, if any.
fn sqlite_dir(url: &str) -> Option<String> {
    let parent = std::path::Path::new(sqlite_path(url)?).parent()?;
    let parent = parent.to_str()?;
    (!parent.is_empty()).then(|| parent.to_owned())
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbErr, RuntimeErr};

    /// sqlx's words when it cannot read a connection string: the password must not survive
    /// into what is printed, and the error must still mean "unavailable".
    #[test]
    fn a_connection_error_does_not_repeat_the_url() {
        let url = "postgres://sesame:S3cretPW@db.example.com/sesame";
        let err = DbErr::Conn(RuntimeErr::Internal(format!(
            "The connection string '{url}' cannot be parsed."
        )));
        let err = super::without_url(err, url);
        let text = err.to_string();
        assert!(!text.contains("S3cretPW"), "{text}");
        assert!(text.contains("db.example.com"), "{text}");
        assert!(crate::error::db_unavailable(&err));
        let other = DbErr::Conn(RuntimeErr::Internal("connection refused".into()));
        assert_eq!(
            super::without_url(other, url).to_string(),
            "Connection Error: connection refused"
        );
    }
}
