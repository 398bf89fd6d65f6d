//! PostgreSQL: the writes on connections kept out of the pool.
//!
//! A write through sea-orm checks a connection out of sqlx's pool and gives it back at the end,
//! and on the way back sqlx tests it with a `Sync` message and waits for PostgreSQL's
//! `ReadyForQuery` (sqlx-core 0.9 `pool/connection.rs`, `return_to_pool`; there is no option to
//! turn it off): one more round trip, one more wake-up of the backend and a task spawned, for
//! every transaction and every stand-alone write. [`super::pinned`] removed it from the hot
//! reads; [`PinnedWrites`] does the same for the writes: a few connections are kept checked out
//! for good, and [`super::Writer::write`] leases a free one to each write
//! ([`super::WriteConn::Pinned`]). When every one is busy the write uses the pool as before, so
//! a write never waits for a pinned connection and a write inside a write cannot deadlock.
//!
//! sea-orm still builds every statement; sqlx runs it on the leased connection and sea-orm
//! decodes the rows (`QueryResult::from(PgRow)`), and errors are mapped as sea-orm maps them
//! (`DbErr::Exec` for statements, `DbErr::Query` for rows), so `DbErr::sql_err` (the unique
//! violations) reads them the same. A transaction is `BEGIN` … `COMMIT` on the leased
//! connection ([`PinnedTxn`]). One that is dropped open (an error, or a request cancelled half
//! way) is rolled back by a task that holds the lease until the `ROLLBACK` is answered, so no
//! other write gets the connection while it is still inside that transaction, and its row locks
//! are let go at once.
//!
//! A broken connection must not fail request after request, as the pool's never do (it tests
//! each one it gets back). A connection whose statement failed for any reason but PostgreSQL's
//! own non-fatal answer (an I/O error, a backend terminated by a restart, a fail-over or
//! `pg_terminate_backend`) is closed, and every other pinned connection taken before it is
//! retired at its next use ([`Breaks`], shared with the pinned reads). A transaction whose
//! `BEGIN` finds its connection broken begins again, once, on a fresh one (nothing of it has
//! run); a connection idle for more than [`IDLE_CHECK`] is tested before its next write, as
//! the pool tests its own. A stand-alone write (no transaction) that finds its connection
//! broken fails with 503, as a write on a broken pool connection does: it is not repeated,
//! because it may have run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Connection, Executor, Postgres, pool::PoolConnection, postgres::PgPool};
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

use super::pinned::{Breaks, PINNED_CONNECTIONS, acquire_err, breaks_connection, query_err};

/// Connections kept out of the pool for the writes.
pub const PINNED_WRITERS: usize = 2;

/// The smallest pool that gives up connections to the writes: the pinned reads' and these, and
/// as many again left in the pool for everything else (the clean-up, `/readyz`, the reads that
/// are not pinned, and the writes when both pinned connections are busy).
pub const MIN_POOL_FOR_PINNED_WRITES: u32 = 2 * (PINNED_CONNECTIONS + PINNED_WRITERS) as u32;

#[derive(Debug)]
pub struct PinnedWrites {
    slots: Vec<Arc<Slot>>,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Slot {
    /// Where the slot takes a connection from, and gives it back to.
    pool: PgPool,
    /// Leased to a write (set by [`PinnedWrites::lease`], cleared when its [`Lease`] drops).
    busy: AtomicBool,
    /// Locked for each statement; only the write that holds the lease ever locks it.
    conn: Mutex<Option<PoolConnection<Postgres>>>,
    /// When the slot's last lease ended (see [`IDLE_CHECK`]).
    last_used: std::sync::Mutex<Option<Instant>>,
    /// Shared with every pinned connection ([`Breaks`]); `seen` is its count when this
    /// slot's connection was taken.
    breaks: Arc<Breaks>,
    seen: AtomicU64,
}

/// A pinned connection idle for longer is tested (a ping) before its next write, as the pool
/// tests its own (`db::connect`): a connection dropped meanwhile (a PostgreSQL restart, a
/// fail-over, an idle timeout on the way) is replaced instead of failing that write.
const IDLE_CHECK: Duration = Duration::from_secs(30);

impl PinnedWrites {
    /// Pinned writers taken from `db`'s pool when it is PostgreSQL's and holds at least
    /// [`MIN_POOL_FOR_PINNED_WRITES`], else `None`. Connections are taken when first leased.
    pub fn new(db: &DatabaseConnection, max_connections: u32, breaks: Arc<Breaks>) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Postgres
            || max_connections < MIN_POOL_FOR_PINNED_WRITES
        {
            return None;
        }
        let pool = db.get_postgres_connection_pool();
        Some(Self {
            slots: (0..PINNED_WRITERS)
                .map(|_| {
                    Arc::new(Slot {
                        pool: pool.clone(),
                        busy: AtomicBool::new(false),
                        conn: Mutex::new(None),
                        last_used: std::sync::Mutex::new(None),
                        breaks: breaks.clone(),
                        seen: AtomicU64::new(0),
                    })
                })
                .collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// A pinned connection for one write, or `None` when every one is leased (the write then
    /// goes through the pool).
    pub async fn lease(&self) -> Result<Option<Arc<Lease>>, DbErr> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let Some(slot) = (0..n).map(|i| &self.slots[(start + i) % n]).find(|slot| {
            slot.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) else {
            return Ok(None);
        };
        let lease = Arc::new(Lease {
            slot: slot.clone(),
            in_txn: AtomicBool::new(false),
        });
        let mut conn = slot.conn.lock().await;
        slot.breaks.retire_stale(&slot.seen, &mut conn);
        let idle = slot
            .last_used
            .lock()
            .ok()
            .and_then(|last| *last)
            .is_none_or(|last| last.elapsed() > IDLE_CHECK);
        if idle
            && let Some(live) = conn.as_mut()
            && live.ping().await.is_err()
            && let Some(mut stale) = conn.take()
        {
            stale.close_on_drop();
        }
        if conn.is_none() {
            *conn = Some(slot.pool.acquire().await.map_err(acquire_err)?);
        }
        drop(conn);
        Ok(Some(lease))
    }

    /// Give every pinned connection back to the pool (at shutdown: closing a pool waits for
    /// every connection checked out of it, see `PinnedReads::release`). A write after this
    /// takes a new connection.
    pub async fn release(&self) {
        for slot in &self.slots {
            slot.conn.lock().await.take();
        }
    }
}

/// One write's hold on a pinned connection; the slot is free again when the last holder (the
/// write's [`super::WriteConn`], its transaction, a rollback under way) drops it.
#[derive(Debug)]
pub struct Lease {
    slot: Arc<Slot>,
    in_txn: AtomicBool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut last) = self.slot.last_used.lock() {
            *last = Some(Instant::now());
        }
        self.slot.busy.store(false, Ordering::Release);
    }
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl Lease {
    async fn conn(&self) -> MutexGuard<'_, Option<PoolConnection<Postgres>>> {
        self.slot.conn.lock().await
    }

    /// After a failed statement: a connection that did not get PostgreSQL's own answer (a
    /// constraint, a timeout, an aborted transaction), or got a fatal one, may be broken or half way through a
    /// message, so it is closed instead of reused.
    fn after_error(&self, conn: &mut Option<PoolConnection<Postgres>>, err: &sqlx::Error) {
        if breaks_connection(err)
            && let Some(mut broken) = conn.take()
        {
            broken.close_on_drop();
            self.slot.breaks.record();
        }
    }

    pub(super) async fn execute(&self, stmt: &Statement) -> Result<u64, DbErr> {
        let mut slot = self.conn().await;
        let conn = slot.as_mut().ok_or_else(lost)?;
        match query(stmt).execute(&mut **conn).await {
            Ok(done) => Ok(done.rows_affected()),
            Err(err) => {
                self.after_error(&mut slot, &err);
                Err(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
            }
        }
    }

    pub(super) async fn fetch<M: FromQueryResult>(
        &self,
        stmt: &Statement,
    ) -> Result<Vec<M>, DbErr> {
        let mut slot = self.conn().await;
        let conn = slot.as_mut().ok_or_else(lost)?;
        match query(stmt).fetch_all(&mut **conn).await {
            Ok(rows) => rows
                .into_iter()
                .map(|row| M::from_query_result(&QueryResult::from(row), ""))
                .collect(),
            Err(err) => {
                self.after_error(&mut slot, &err);
                Err(query_err(err))
            }
        }
    }

    async fn control(&self, sql: &'static str) -> Result<(), DbErr> {
        let mut slot = self.conn().await;
        let conn = slot.as_mut().ok_or_else(lost)?;
        match conn.execute(sql).await {
            Ok(_) => Ok(()),
            Err(err) => {
                self.after_error(&mut slot, &err);
                Err(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
            }
        }
    }

    /// Begin a transaction on the leased connection. One write holds one transaction at a
    /// time, as on the inline SQLite connection.
    pub async fn begin(self: &Arc<Self>) -> Result<PinnedTxn, DbErr> {
        if self.in_txn.swap(true, Ordering::AcqRel) {
            return Err(DbErr::Custom(
                "a write began a transaction while its first was open".into(),
            ));
        }
        // The guard exists before `BEGIN` is sent: a begin cancelled half way is rolled back
        // too (a `ROLLBACK` outside a transaction is only a warning).
        let txn = PinnedTxn {
            lease: self.clone(),
            open: true,
        };
        if let Err(err) = self.control("BEGIN").await {
            // A connection found broken at `BEGIN` has run nothing of this transaction:
            // begin again, once, on a fresh one.
            if !self.replace_broken().await? {
                return Err(err);
            }
            self.control("BEGIN").await?;
        }
        Ok(txn)
    }

    /// Take a fresh connection from the pool if the last statement closed this lease's
    /// (`after_error`); whether it did.
    async fn replace_broken(&self) -> Result<bool, DbErr> {
        let mut conn = self.conn().await;
        if conn.is_some() {
            return Ok(false);
        }
        // Notes the current count of breaks for this slot; there is nothing to retire.
        self.slot.breaks.retire_stale(&self.slot.seen, &mut conn);
        *conn = Some(self.slot.pool.acquire().await.map_err(acquire_err)?);
        Ok(true)
    }

    /// End the transaction that was left open, then let the slot go (this lease is dropped).
    async fn roll_back(&self) {
        if self.control("ROLLBACK").await.is_err() {
            // `control` closed a broken connection; a live one that refused ROLLBACK is not
            // reused either.
            if let Some(mut conn) = self.conn().await.take() {
                conn.close_on_drop();
            }
        }
        self.in_txn.store(false, Ordering::Release);
    }
}

fn lost() -> DbErr {
    DbErr::Custom("the write's connection was closed after an error".into())
}

/// A transaction on a leased connection. Dropped without [`PinnedTxn::commit`], it is rolled
/// back.
#[derive(Debug)]
pub struct PinnedTxn {
    lease: Arc<Lease>,
    open: bool,
}

impl PinnedTxn {
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    pub async fn commit(mut self) -> Result<(), DbErr> {
        // A COMMIT that fails or is cancelled leaves `open` set: the drop rolls back.
        self.lease.control("COMMIT").await?;
        self.open = false;
        self.lease.in_txn.store(false, Ordering::Release);
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<(), DbErr> {
        self.open = false;
        self.lease.roll_back().await;
        Ok(())
    }
}

impl Drop for PinnedTxn {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let lease = self.lease.clone();
        match tokio::runtime::Handle::try_current() {
            // The task holds the lease until PostgreSQL has answered the ROLLBACK.
            Ok(runtime) => drop(runtime.spawn(async move { lease.roll_back().await })),
            // No runtime (a process shutting down): close the socket, which ends the
            // transaction on the server.
            Err(_) => {
                if let Ok(mut slot) = lease.slot.conn.try_lock()
                    && let Some(conn) = slot.take()
                {
                    drop(conn.detach());
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "pinned_writes_tests.rs"]
mod tests;
