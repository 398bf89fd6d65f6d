//! SQLite reads that run on the calling thread.
//!
//! sqlx gives every SQLite connection a thread of its own: each statement is a command sent to
//! that thread and a result sent back, two thread switches that cost more than the indexed
//! look-up itself (docs/performance-history.md, "Where the time goes"). The hottest reads, the
//! session check behind `GET /api/v1/session` and every signed-in request above all, run
//! instead right here, on the task's own thread, on a rusqlite connection to the same file
//! (measured: session checks 10.6–11.5k/s → 20.2–21.8k/s). sea-orm still builds the statement
//! from the entities; only its execution is here, and `store::rows` decodes the rows. A read
//! in WAL mode does not wait for the writer (SQLite, "Write-Ahead Logging" §2.2: readers and a
//! writer do not block each other), so it holds the thread for microseconds.
//!
//! The connections are `query_only`: a write sent through them fails at once.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::sea_query::Value;
use sea_orm::{DbErr, RuntimeErr, Statement};

/// How long a reader waits for a lock before its read fails with 503. In WAL mode a reader
/// only waits while another connection recovers the WAL index, a matter of milliseconds; the
/// wait blocks the calling thread, so it is kept short.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 16;

/// Where the hot stand-alone reads go: the read pool, and on SQLite the readers that run on
/// the calling thread, which the hot reads use when present.
#[derive(Clone, Copy, Debug)]
pub struct Reads<'a> {
    pub pool: &'a super::ReadPool,
    pub inline: Option<&'a InlineReads>,
    /// PostgreSQL: connections kept out of the pool for the hot reads ([`super::pinned`]).
    pub pinned: Option<&'a super::PinnedReads>,
}

impl<'a> Reads<'a> {
    /// Reads through `pool` only (the admin commands, which answer once and exit).
    pub fn pooled(pool: &'a super::ReadPool) -> Self {
        Self {
            pool,
            inline: None,
            pinned: None,
        }
    }
}

/// Connections to one SQLite file, opened when first needed (one per thread reading at the
/// same moment, so at most one per runtime worker) and reused.
#[derive(Debug)]
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    /// Readers of the database file at `path`; one connection is opened now, so that a file
    /// that cannot be read fails at start-up.
    pub fn open(path: PathBuf) -> Result<Self, DbErr> {
        let reads = Self {
            path,
            idle: Mutex::new(Vec::new()),
        };
        let first = reads.connect()?;
        reads.put_back(first);
        Ok(reads)
    }

    fn connect(&self) -> Result<Connection, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(to_db_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(to_db_err)?;
        // A small page cache: in WAL mode a reader's cache is emptied whenever another
        // connection has written since its last read, which under load is every few reads.
        conn.execute_batch("PRAGMA query_only = 1; PRAGMA cache_size = -256;")
            .map_err(to_db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    /// Run `statement` (built by sea-orm for SQLite) and decode each row with `decode`.
    pub fn query<T>(
        &self,
        statement: &Statement,
        mut decode: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbErr> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let rows = run(&conn, statement, &mut decode);
        // After an error the connection is dropped: if its file went away, the next read
        // opens a new one (and fails with 503 until the file is back).
        if rows.is_ok() {
            self.put_back(conn);
        }
        rows
    }
}

/// Run `statement` on `conn` (its prepared form cached there) and decode each row.
pub(super) fn run<T>(
    conn: &Connection,
    statement: &Statement,
    decode: &mut impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, DbErr> {
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(to_db_err)?;
    let mut rows = stmt.query(params(statement)?).map_err(to_db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(to_db_err)? {
        out.push(decode(row).map_err(to_db_err)?);
    }
    Ok(out)
}

/// The values bound to `statement`, encoded for rusqlite.
pub(super) fn params(
    statement: &Statement,
) -> Result<rusqlite::ParamsFromIter<Vec<rusqlite::types::Value>>, DbErr> {
    let values = statement
        .values
        .iter()
        .flat_map(|values| values.0.iter())
        .map(to_sql)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rusqlite::params_from_iter(values))
}

/// A bound value, encoded as sqlx-sqlite encodes it (UUIDs as 16-byte blobs, booleans as 0/1),
/// so that it compares equal to what the writer stored.
fn to_sql(value: &Value) -> Result<rusqlite::types::Value, DbErr> {
    use rusqlite::types::Value as Sql;
    Ok(match value {
        Value::Bool(v) => v.map_or(Sql::Null, |b| Sql::Integer(i64::from(b))),
        Value::TinyInt(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        Value::SmallInt(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        Value::Int(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        Value::BigInt(v) => v.map_or(Sql::Null, Sql::Integer),
        Value::TinyUnsigned(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        Value::SmallUnsigned(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        Value::Unsigned(v) => v.map_or(Sql::Null, |i| Sql::Integer(i64::from(i))),
        // `.limit(n)` binds a u64.
        Value::BigUnsigned(v) => match v {
            Some(i) => Sql::Integer(
                i64::try_from(*i).map_err(|_| DbErr::Type("an integer out of range".into()))?,
            ),
            None => Sql::Null,
        },
        Value::String(v) => v.clone().map_or(Sql::Null, Sql::Text),
        Value::Bytes(v) => v.clone().map_or(Sql::Null, Sql::Blob),
        Value::Uuid(v) => v.map_or(Sql::Null, |u| Sql::Blob(u.as_bytes().to_vec())),
        other => {
            return Err(DbErr::Type(format!(
                "no SQLite encoding here for a bound {other:?}"
            )));
        }
    })
}

/// How an inline connection's unique-constraint violation starts its message (sea-orm's
/// `sql_err` knows only sqlx's errors).
const UNIQUE_VIOLATION: &str = "unique constraint violated: ";

/// Is `err` a unique-constraint violation reported by an inline connection ([`to_db_err`])?
pub fn is_inline_unique_violation(err: &DbErr) -> bool {
    matches!(err, DbErr::Exec(RuntimeErr::Internal(message)) if message.starts_with(UNIQUE_VIOLATION))
}

/// rusqlite's error as a [`DbErr`] that `error::db_unavailable` classifies like sqlx's: the
/// codes that mean "not now" (busy, locked, I/O, cannot open…) become connection errors (503).
pub(super) fn to_db_err(err: rusqlite::Error) -> DbErr {
    use rusqlite::ErrorCode;
    let extended = err.sqlite_error().map(|e| e.extended_code);
    if matches!(
        extended,
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    ) {
        return DbErr::Exec(RuntimeErr::Internal(format!("{UNIQUE_VIOLATION}{err}")));
    }
    let unavailable = matches!(
        err.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
        )
    );
    if unavailable {
        DbErr::Conn(RuntimeErr::Internal(err.to_string()))
    } else {
        DbErr::Query(RuntimeErr::Internal(err.to_string()))
    }
}
