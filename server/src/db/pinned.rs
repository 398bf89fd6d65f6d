//! PostgreSQL: the hot reads on connections kept out of the pool.
//!
//! sqlx returns a connection to its pool after every statement that does not run in a
//! transaction, and on the way back it tests the connection with a `Sync` message and waits for
//! PostgreSQL's `ReadyForQuery` (sqlx-core 0.9 `pool/connection.rs`, `return_to_pool`: "test the
//! connection on-release"). There is no option to turn it off. For the session check behind
//! `GET /api/v1/session`, a single indexed read, that is a second round trip to PostgreSQL and a
//! second wake-up of its backend for every request, plus a task spawned to do it.
//!
//! [`PinnedReads`] keeps a few connections checked out of the pool and runs the hot reads on
//! them: one round trip each. Each is kept for the pool's `max_lifetime` (30 minutes), then
//! closed and replaced, as the pool does with its own: a PostgreSQL backend's caches grow with
//! its age, and a proxy in between may cut connections after a time. sea-orm still builds the
//! statement from the entities; the row is read by position (`store::rows::Columns`). A
//! connection whose statement fails is given back to the pool (which tests it and closes it
//! when it is broken, as after a fail-over or `pg_terminate_backend`), and the slot takes a
//! fresh one at its next read. A read that is cancelled half way leaves the connection waiting
//! for its answer; sqlx reads that answer away before the connection's next statement
//! (`wait_until_ready`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{
    self, Postgres,
    pool::PoolConnection,
    postgres::{PgPool, PgRow},
};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement};
use tokio::sync::{Mutex, Semaphore};

/// How many of `max_connections` (`SESAME_DATABASE_MAX_CONNECTIONS`) are kept out of the pool:
/// a third, and at least two, when the pool holds four or more; none in a smaller pool, which
/// keeps every connection for itself. The pool keeps the rest for everything else, the writes'
/// transactions above all. At the default of 12 that is four pinned and eight in the pool.
///
/// Measured on 2 cores with PostgreSQL on the same machine (docs/performance-history.md,
/// item 52): four pinned connections, with the fair wait below, gave 6–23 % more session checks
/// per second than two in alternated pairs, at a p99 14–37 % lower; eight or sixteen gave fewer
/// than four (more backends taking turns on the same cores). Passkey log-ins lost 12 % when the
/// pool kept only four of eight for their writes, and nothing with eight of twelve.
pub fn pinned_connections(max_connections: u32) -> usize {
    let max = max_connections as usize;
    if max < 4 { 0 } else { (max / 3).max(2) }
}

#[derive(Debug)]
pub struct PinnedReads {
    pool: PgPool,
    slots: Vec<Mutex<Option<Pinned>>>,
    next: AtomicUsize,
    /// One permit per slot: a read waits for whichever connection is given back first, in the
    /// order the reads came (tokio's semaphore is fair), not for one slot picked in advance.
    free: Semaphore,
    /// How long a connection stays pinned before it is closed and replaced: the pool's
    /// `max_lifetime` (sqlx's default, 30 minutes), which does not reach connections kept out of
    /// the pool. `None`: for as long as it works.
    lifetime: Option<Duration>,
}

/// A pinned connection, and when it is to be replaced.
#[derive(Debug)]
struct Pinned {
    conn: PoolConnection<Postgres>,
    renew_at: Option<Instant>,
}

impl PinnedReads {
    /// Pinned readers taken from `db`'s pool when it is PostgreSQL's and
    /// [`pinned_connections`] keeps some of it, else `None`. Connections are taken when first
    /// needed.
    pub fn new(db: &DatabaseConnection, max_connections: u32) -> Option<Self> {
        let n = pinned_connections(max_connections);
        if db.get_database_backend() != DbBackend::Postgres || n == 0 {
            return None;
        }
        let pool = db.get_postgres_connection_pool().clone();
        Some(Self {
            lifetime: pool.options().get_max_lifetime(),
            pool,
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            free: Semaphore::new(n),
        })
    }

    fn pinned(&self, conn: PoolConnection<Postgres>) -> Pinned {
        Pinned {
            conn,
            renew_at: self.lifetime.map(|lifetime| Instant::now() + lifetime),
        }
    }

    /// Run `statement` (built for PostgreSQL) and return its first row, if any, as sqlx's
    /// (read by position, `store::rows::Columns`).
    ///
    /// A connection the server has closed since its last statement (a fail-over, a restart,
    /// `pg_terminate_backend`, an idle-session timeout) fails the read; the read is then tried
    /// once more on a tested connection ([`super::liveness`]), so that a session check does not
    /// fail for a connection that was already gone. A read is safe to repeat.
    pub async fn query_one(&self, statement: &Statement) -> Result<Option<PgRow>, DbErr> {
        // Wait until a connection is free, then take it. Only `release` holds a slot without a
        // permit (at shutdown); a read that finds none free then waits for one in turn. The
        // semaphore is never closed.
        let _permit = self.free.acquire().await.ok();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let free = (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok());
        let mut slot = match free {
            Some(slot) => slot,
            None => self.slots[start % n].lock().await,
        };
        let pinned = match slot.as_mut() {
            Some(pinned) => pinned,
            // Boxed: sqlx's check-out is a 14.5 KB future, needed only when a slot is empty.
            // Inline, it would make every read's future, and every session check's, that
            // large (docs/performance-history.md, item 28).
            None => {
                let conn = Box::pin(self.pool.acquire()).await.map_err(acquire_err)?;
                slot.insert(self.pinned(conn))
            }
        };
        let fetched = match fetch(&mut pinned.conn, statement).await {
            Err(err) if super::liveness::connection_lost(&err) => {
                tracing::debug!(error = %err, "a pinned connection was closed; reading again");
                slot.take();
                let conn = Box::pin(self.tested_connection()).await?;
                fetch(&mut slot.insert(self.pinned(conn)).conn, statement).await
            }
            done => done,
        };
        if fetched.is_err() {
            // Back to the pool, which tests it and closes it when it is broken; the slot takes
            // a fresh one at its next read.
            slot.take();
        } else if slot
            .as_ref()
            .and_then(|pinned| pinned.renew_at)
            .is_some_and(|at| at <= Instant::now())
            && let Some(mut old) = slot.take()
        {
            // Its lifetime is over: closed (by a task sqlx spawns), not given back, so that the
            // server sees it end and the slot takes another at its next read.
            old.conn.close_on_drop();
        }
        fetched.map_err(query_err)
    }

    /// A connection from the pool after one was found closed: the loss is recorded first, so
    /// that the check-out pings each connection idle since before it and replaces one that does
    /// not answer ([`super::liveness`]).
    async fn tested_connection(&self) -> Result<PoolConnection<Postgres>, DbErr> {
        super::liveness::note_lost();
        self.pool.acquire().await.map_err(acquire_err)
    }

    /// Give every pinned connection back to the pool. Closing a pool waits until every
    /// connection checked out of it is back (sqlx `Pool::close`), so the server calls this at
    /// shutdown first: without it, a PostgreSQL server that had answered one session check
    /// never exited after SIGTERM. A read after this takes a new connection.
    pub async fn release(&self) {
        for slot in &self.slots {
            slot.lock().await.take();
        }
    }
}

/// Run `statement` on `conn`.
async fn fetch(
    conn: &mut PoolConnection<Postgres>,
    statement: &Statement,
) -> Result<Option<PgRow>, sqlx::Error> {
    let values = statement
        .values
        .clone()
        .unwrap_or(sea_orm::Values(Vec::new()));
    let query = sqlx::query_with(
        sqlx::AssertSqlSafe(statement.sql.as_str()),
        sea_query_sqlx::SqlxValues(values),
    );
    query.fetch_optional(&mut **conn).await
}

/// A failed statement (or a row that does not decode) as sea-orm's error.
pub fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

/// sea-orm's mapping of a failed check-out (`sqlx_conn_acquire_err`, not public).
fn acquire_err(err: sqlx::Error) -> DbErr {
    use sea_orm::ConnAcquireErr;
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}

#[cfg(test)]
#[path = "pinned_tests.rs"]
mod tests;
