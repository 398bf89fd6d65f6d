//! SQLite writes that run on the writer's own thread, and [`Exec`], what a store function
//! needs of the connection it writes through.
//!
//! Each statement sent through sqlx is a command to the connection's thread and a result back,
//! two thread switches; a passkey log-in's writes were eight such statements, one after the
//! other on the one chain that every write of the process queues on (docs/performance-history.md,
//! "Where the time goes"). [`super::Writer::write`] runs a write instead on a rusqlite
//! connection, right on the writer thread: a whole transaction takes one poll of its task.
//! sea-orm still builds every statement from the entities.
//!
//! Every write of the server process to a SQLite file goes through [`super::Writer::write`],
//! and an inline write holds the writer's lock from its first statement to its last, so the
//! process has one writer at a time. (Before, the lock was sqlx's writing connection checked
//! out of its pool of one; sqlx pings a connection each time it goes back to its pool, one
//! more round trip to that connection's thread per write.) sqlx's writing pool now only
//! applies the migrations at start and answers `/readyz`. Writers of other processes (an
//! admin command, a second instance) are waited for with a 5 s busy timeout.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, FromQueryResult,
    QueryTrait, Statement,
};

use super::checkpoint::{Checkpointer, WRITER_CHECKPOINT_PAGES};
use super::reads::{params, run, to_db_err};

/// Decodes one entity's model from a row, given sea-orm's column prefix (see `store::rows`).
pub type Decode<M> = fn(&Row<'_>, &str) -> rusqlite::Result<M>;

/// Where a store function runs its statements: any sea-orm connection or transaction, or the
/// writer thread's rusqlite connection ([`WriteConn`], [`WriteTxn`]).
pub trait Exec: Sync {
    /// The SQL dialect to build statements in.
    fn backend(&self) -> DbBackend;

    /// Run a statement; how many rows it changed.
    fn exec_statement(&self, stmt: Statement) -> impl Future<Output = Result<u64, DbErr>> + Send;

    /// Build `query` in this connection's dialect and run it; how many rows it changed.
    fn exec_query<Q: QueryTrait>(
        &self,
        query: &Q,
    ) -> impl Future<Output = Result<u64, DbErr>> + Send {
        self.exec_statement(query.build(self.backend()))
    }

    /// Run a statement that returns whole rows of one entity (a select, `… RETURNING *`):
    /// sea-orm decodes them on its connections, `decode` on the inline one.
    fn fetch<M: FromQueryResult + Send>(
        &self,
        stmt: Statement,
        decode: Decode<M>,
    ) -> impl Future<Output = Result<Vec<M>, DbErr>> + Send;
}

impl<C: ConnectionTrait> Exec for C {
    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }

    async fn exec_statement(&self, stmt: Statement) -> Result<u64, DbErr> {
        Ok(self.execute_raw(stmt).await?.rows_affected())
    }

    async fn fetch<M: FromQueryResult + Send>(
        &self,
        stmt: Statement,
        _decode: Decode<M>,
    ) -> Result<Vec<M>, DbErr> {
        self.query_all_raw(stmt)
            .await?
            .iter()
            .map(|row| M::from_query_result(row, ""))
            .collect()
    }
}

/// The writer thread's own connection to a SQLite file. Only [`super::Writer::write`] hands it
/// out, inside the lock described above.
#[derive(Debug)]
pub struct InlineWriter {
    /// Runs the WAL checkpoints beside the writer (see `super::checkpoint`). Declared first, so
    /// it is dropped (its connection closed) before `conn`.
    checkpoint: Checkpointer,
    conn: Mutex<Connection>,
}

/// Prepared statements kept: a log-in writes with about eight different ones.
const STATEMENT_CACHE: usize = 64;

impl InlineWriter {
    /// Open the connection, with the settings of sqlx's writer (`super::connect`): WAL (the
    /// file has it already), `synchronous=NORMAL`, foreign keys on, a 5 s busy timeout.
    pub fn open(path: &Path) -> Result<Self, DbErr> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(to_db_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(to_db_err)?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -1024;",
        )
        .map_err(to_db_err)?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(to_db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpoint = Checkpointer::start(path).map_err(|e| DbErr::Custom(e.to_string()))?;
        Ok(Self {
            checkpoint,
            conn: Mutex::new(conn),
        })
    }

    /// The connection. Only the writer thread's task that holds the lock uses it, so this
    /// never waits. A panic in a statement leaves the connection usable (the transaction is
    /// rolled back by [`InlineTxn`]'s drop), so a poisoned lock is taken over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn execute(&self, stmt: &Statement) -> Result<u64, DbErr> {
        let conn = self.conn();
        let alone = conn.is_autocommit();
        let mut prepared = conn.prepare_cached(&stmt.sql).map_err(to_db_err)?;
        let changed = prepared.execute(params(stmt)?).map_err(to_db_err)?;
        if alone && changed > 0 {
            self.checkpoint.committed();
        }
        Ok(changed as u64)
    }

    fn fetch<M>(&self, stmt: &Statement, decode: Decode<M>) -> Result<Vec<M>, DbErr> {
        let conn = self.conn();
        // A statement outside a transaction that changed rows (`… RETURNING`) committed.
        let alone = conn.is_autocommit().then(|| conn.total_changes());
        let rows = run(&conn, stmt, &mut |row| decode(row, ""))?;
        if alone.is_some_and(|before| conn.total_changes() > before) {
            self.checkpoint.committed();
        }
        Ok(rows)
    }

    fn control(&self, sql: &str) -> Result<(), DbErr> {
        let conn = self.conn();
        let mut prepared = conn.prepare_cached(sql).map_err(to_db_err)?;
        prepared.execute([]).map_err(to_db_err).map(|_| ())
    }
}

/// Through sea-orm (`Orm`) or the writer thread's inline connection (`Inline`): what
/// [`WriteConn`] and [`WriteTxn`] are.
pub enum Via<O, I> {
    Orm(O),
    Inline(I),
}

/// What a write given to [`super::Writer::write`] writes through: sqlx's writing connection
/// (PostgreSQL, or an in-memory SQLite database), or the inline one.
pub type WriteConn = Via<DatabaseConnection, Arc<InlineWriter>>;

/// A transaction begun by [`WriteConn::begin`]. Dropped without [`WriteTxn::commit`], it is
/// rolled back.
pub type WriteTxn = Via<DatabaseTransaction, InlineTxn>;

impl WriteConn {
    /// Begin a transaction that will write: `BEGIN IMMEDIATE` on SQLite (see
    /// `store::begin_write`).
    pub async fn begin(&self) -> Result<WriteTxn, DbErr> {
        match self {
            Self::Orm(db) => crate::store::begin_write(db).await.map(Via::Orm),
            Self::Inline(writer) => {
                writer.control("BEGIN IMMEDIATE")?;
                Ok(Via::Inline(InlineTxn {
                    writer: writer.clone(),
                    open: true,
                }))
            }
        }
    }
}

/// An open transaction on the inline connection.
pub struct InlineTxn {
    writer: Arc<InlineWriter>,
    open: bool,
}

impl Drop for InlineTxn {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: the error of the statement that failed is on its way.
            let _ = self.writer.control("ROLLBACK");
        }
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Orm(txn) => txn.commit().await,
            Self::Inline(mut txn) => {
                let committed = txn.writer.control("COMMIT");
                // A failed COMMIT leaves the transaction open (SQLite: BUSY); drop rolls it back.
                txn.open = committed.is_err();
                if committed.is_ok() {
                    txn.writer.checkpoint.committed();
                }
                committed
            }
        }
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Self::Orm(txn) => txn.rollback().await,
            Self::Inline(mut txn) => {
                txn.open = false;
                txn.writer.control("ROLLBACK")
            }
        }
    }
}

/// The inline side of a [`Via`]: the connection it writes through.
pub trait OnInline: Sync {
    fn writer(&self) -> &InlineWriter;
}

impl OnInline for Arc<InlineWriter> {
    fn writer(&self) -> &InlineWriter {
        self
    }
}

impl OnInline for InlineTxn {
    fn writer(&self) -> &InlineWriter {
        &self.writer
    }
}

impl<O: ConnectionTrait, I: OnInline> Exec for Via<O, I> {
    fn backend(&self) -> DbBackend {
        match self {
            Self::Orm(db) => db.get_database_backend(),
            Self::Inline(_) => DbBackend::Sqlite,
        }
    }

    async fn exec_statement(&self, stmt: Statement) -> Result<u64, DbErr> {
        match self {
            Self::Orm(db) => db.exec_statement(stmt).await,
            Self::Inline(on) => on.writer().execute(&stmt),
        }
    }

    async fn fetch<M: FromQueryResult + Send>(
        &self,
        stmt: Statement,
        decode: Decode<M>,
    ) -> Result<Vec<M>, DbErr> {
        match self {
            Self::Orm(db) => db.fetch(stmt, decode).await,
            Self::Inline(on) => on.writer().fetch(&stmt, decode),
        }
    }
}

#[cfg(test)]
#[path = "writes_tests.rs"]
mod tests;
