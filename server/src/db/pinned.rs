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
//! connection whose statement fails is closed, and the slot takes a fresh one at its next read
//! (after a fail-over or `pg_terminate_backend`, a tested one: [`super::liveness`]). A read that
//! is cancelled half way leaves the connection waiting for its answer; sqlx reads that answer
//! away before the connection's next statement (`wait_until_ready`).
//!
//! The look-ups by key (the session check's, the passkey log-in's) wait in one line. A task
//! spawned by the first look-up of a line, when a connection is free, reads them on that
//! connection until none waits: one look-up alone with the one-key statement, several with
//! one statement (`… = ANY($1)`, an array of their keys), one round trip, one run of
//! PostgreSQL's executor and one wake-up of its backend for all of them. Measured on 2 cores
//! at 64 clients: 17.2–18.2k session checks/s against 11.1–12.1k, PostgreSQL's CPU per check
//! 37 µs against 84 µs; at 4 and 16 clients the same or a little more
//! (docs/performance-history.md, item 54).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{
    self, Postgres,
    pool::PoolConnection,
    postgres::{PgPool, PgRow},
};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, oneshot};

#[path = "pinned_batch.rs"]
mod batch;
pub use batch::ByKey;
use batch::{Waiter, answer, take_batch};

/// How many of `max_connections` (`SESAME_DATABASE_MAX_CONNECTIONS`) are kept out of the pool:
/// a sixth, and at least two, when the pool holds four or more; none in a smaller pool, which
/// keeps every connection for itself. The pool keeps the rest for everything else, the writes'
/// transactions above all. At the default of 12 that is two pinned and ten in the pool.
///
/// Measured on 2 cores with PostgreSQL on the same machine (docs/performance-history.md,
/// items 52 and 56). Before look-ups were read in batches, four pinned connections gave 6–23 %
/// more session checks per second than two. With batches (item 54) and stable plans (item 57),
/// two gave the same at 4 clients, 14–21 % more at 16 and −7 to +14 % at 64, a lower p99 alone
/// and while password hashes run (1.21–1.41 against 1.62–1.79 ms), and as many passkey log-ins:
/// fewer connections read larger batches. Eight or sixteen gave fewer than four (more backends
/// taking turns on the same cores). Passkey log-ins lost 12 % when the pool kept only four of
/// eight for their writes.
pub fn pinned_connections(max_connections: u32) -> usize {
    let max = max_connections as usize;
    if max < 4 { 0 } else { (max / 6).max(2) }
}

/// The pinned connections, shared with the tasks that read on them.
#[derive(Debug)]
pub struct PinnedReads(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    pool: PgPool,
    slots: Vec<Mutex<Option<Pinned>>>,
    next: AtomicUsize,
    /// One permit per slot, held by whoever reads on one: a task reading the waiting look-ups
    /// ([`Shared::serve`]) or a [`PinnedReads::query_one`].
    free: Arc<Semaphore>,
    /// How long a connection stays pinned before it is closed and replaced: the pool's
    /// `max_lifetime` (sqlx's default, 30 minutes), which does not reach connections kept out of
    /// the pool. `None`: for as long as it works.
    lifetime: Option<Duration>,
    /// Look-ups by key waiting to be read, in the order they came.
    waiting: std::sync::Mutex<VecDeque<Waiter>>,
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
        Some(Self(Arc::new(Shared {
            lifetime: pool.options().get_max_lifetime(),
            pool,
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            free: Arc::new(Semaphore::new(n)),
            waiting: std::sync::Mutex::new(VecDeque::new()),
        })))
    }

    /// Run `statement` (built for PostgreSQL) and return its first row, if any, as sqlx's
    /// (read by position, `store::rows::Columns`). It waits for a connection that no task
    /// reading look-ups holds; such a task keeps its connection while look-ups wait.
    pub async fn query_one(&self, statement: &Statement) -> Result<Option<PgRow>, DbErr> {
        // The semaphore is never closed.
        let permit = Arc::clone(&self.0.free).acquire_owned().await.ok();
        let done = Done {
            shared: Arc::clone(&self.0),
            permit,
        };
        let rows = self.0.on_connection(Read::One(statement)).await;
        drop(done);
        Ok(rows?.into_iter().next())
    }

    /// The row of `select` whose key is `key`, if any.
    ///
    /// The look-up waits in line, and a task that holds a pinned connection reads it: with
    /// `select.one` when it is the only one waiting, else with every look-up of `select`
    /// waiting (up to [`batch::BATCH`]) in one `select.any`. The first look-up of a line starts
    /// that task itself when a connection is free; the others join it. The task is spawned, so
    /// that a request that goes away half way (its future dropped) takes no one else's look-up
    /// with it. Each look-up is read after it was asked for: a session revoked before its check
    /// started is not found.
    pub async fn query_by_key(
        &self,
        select: &'static ByKey,
        key: &[u8],
    ) -> Result<Option<PgRow>, DbErr> {
        let (reply, answer) = oneshot::channel();
        let permit = {
            let mut waiting = self.0.waiting();
            waiting.push_back(Waiter {
                select,
                key: key.to_vec(),
                reply,
            });
            // Only the first look-up of a line starts a reader. One that finds others waiting
            // joins them: a reader is already on its way for the line (started for its first,
            // or every connection is held by a reader or a `query_one`, and each looks at the
            // line before giving its permit back), and this one is read in the same batch.
            // A second reader would find the line taken, or split it: two statements for one.
            // Measured: 2–7 % more session checks/s at 4, 16 and 64 clients, in six of six
            // alternated pairs (docs/performance-history.md, item 55).
            //
            // Under the same lock as a reader's last look at the line (`Shared::serve`): either
            // that reader sees this look-up, or its permit is back before this tries.
            if waiting.len() == 1 {
                Arc::clone(&self.0.free).try_acquire_owned().ok()
            } else {
                None
            }
        };
        if let Some(permit) = permit {
            tokio::spawn(Arc::clone(&self.0).serve(permit));
        }
        answer.await.unwrap_or_else(|_| {
            // Only when the runtime shuts down, or the reader panicked: no connection to read
            // on (503, not 500).
            Err(DbErr::ConnectionAcquire(
                sea_orm::ConnAcquireErr::ConnectionClosed,
            ))
        })
    }

    /// Close every pinned connection. Closing a pool waits until every connection checked out
    /// of it is back or closed (sqlx `Pool::close`), so the server calls this at shutdown
    /// first: without it, a PostgreSQL server that had answered one session check never exited
    /// after SIGTERM. A read after this takes a new connection.
    pub async fn release(&self) {
        for slot in &self.0.slots {
            if let Some(mut pinned) = slot.lock().await.take() {
                pinned.conn.close_on_drop();
            }
        }
    }
}

/// A [`PinnedReads::query_one`]'s permit, given back when the read ends or is dropped half
/// way: to a task that reads the look-ups waiting meanwhile, if any.
struct Done {
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Done {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            Arc::clone(&self.shared).hand_on(permit);
        }
    }
}

impl Shared {
    fn waiting(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// With `permit` given up: to a new reading task when look-ups wait, else back to the
    /// semaphore (under the line's lock; see `query_by_key`).
    fn hand_on(self: Arc<Self>, permit: OwnedSemaphorePermit) {
        let waiting = self.waiting();
        if waiting.is_empty() {
            drop(permit);
            return;
        }
        drop(waiting);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(self.serve(permit));
            }
            Err(_) => drop(permit),
        }
    }

    /// Read the waiting look-ups on a pinned connection (`permit` is for one) until none is
    /// left, then give the permit back.
    async fn serve(self: Arc<Self>, permit: OwnedSemaphorePermit) {
        loop {
            let (select, keys, replies) = {
                let mut waiting = self.waiting();
                match take_batch(&mut waiting) {
                    Some(batch) => batch,
                    None => {
                        drop(permit);
                        return;
                    }
                }
            };
            let read = match keys.as_slice() {
                [key] => Read::Key(&select.one, key),
                _ => Read::Keys(&select.any, &keys),
            };
            let rows = self.on_connection(read).await;
            answer(select, &keys, replies, rows);
        }
    }

    /// Run `read` on a free pinned connection (the caller holds a permit of `free`).
    ///
    /// A connection the server has closed since its last statement (a fail-over, a restart,
    /// `pg_terminate_backend`, an idle-session timeout) fails the read; the read is then tried
    /// once more on a tested connection ([`super::liveness`]), so that a session check does not
    /// fail for a connection that was already gone. A read is safe to repeat.
    async fn on_connection(&self, read: Read<'_>) -> Result<Vec<PgRow>, DbErr> {
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
            None => slot.insert(Box::pin(self.fresh(false)).await?),
        };
        let fetched = match read.run(&mut pinned.conn).await {
            Err(err) if super::liveness::connection_lost(&err) => {
                tracing::debug!(error = %err, "a pinned connection was closed; reading again");
                slot.take();
                let fresh = Box::pin(self.fresh(true)).await?;
                read.run(&mut slot.insert(fresh).conn).await
            }
            done => done,
        };
        if fetched.is_err() {
            // Closed, not given back (it is set to generic plans, `fresh`); the slot takes a
            // fresh one at its next read.
            if let Some(mut old) = slot.take() {
                old.conn.close_on_drop();
            }
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

    /// A connection for a slot, from the pool. After one was found closed (`after_loss`, or
    /// when the one handed out is), the loss is recorded first, so that the check-out pings each
    /// connection idle since before it and replaces one that does not answer
    /// ([`super::liveness`]).
    ///
    /// It is set to use generic plans only (PostgreSQL, "plan_cache_mode"). A prepared
    /// statement is planned afresh at each run (a custom plan) while its generic plan looks
    /// dearer, and the generic plan of `= ANY($1)` expects ten rows where one or two come:
    /// measured, `pg_prepared_statements` counted eight custom plans in eight runs, and
    /// PostgreSQL's backends spent 128 µs of CPU per session check against 78 µs
    /// (docs/performance-history.md, items 53 and 54). The one-key and `ANY` selects here are
    /// indexed look-ups whose generic plan is the custom plan; the pinned connections run
    /// nothing else, and are closed, not given back to the pool, when they leave their slot.
    ///
    /// It is also set not to scan whole tables where an index serves (`enable_seqscan = off`,
    /// PostgreSQL, "Planner Method Configuration": it "discourages the planner from using one if
    /// there are other methods available"). A generic plan is kept until the table's statistics
    /// change, and one made while the tables were small (a new deployment; tables that
    /// autovacuum has not analysed yet) joined the session and account tables by scanning both
    /// whole: measured on 10,000 sessions, 2.4 ms per `ANY` statement against 0.1 ms, and
    /// 5.1k session checks/s against 22k (docs/performance-history.md, item 57).
    async fn fresh(&self, mut after_loss: bool) -> Result<Pinned, DbErr> {
        loop {
            if after_loss {
                super::liveness::note_lost();
            }
            let mut conn = self.pool.acquire().await.map_err(acquire_err)?;
            let set =
                sqlx::raw_sql("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off");
            match set.execute(&mut *conn).await {
                Ok(_) => {
                    return Ok(Pinned {
                        conn,
                        renew_at: self.lifetime.map(|lifetime| Instant::now() + lifetime),
                    });
                }
                Err(err) => {
                    conn.close_on_drop();
                    // An idle connection the server had closed: the first to notice, once
                    // more on a tested one.
                    if !after_loss && super::liveness::connection_lost(&err) {
                        after_loss = true;
                        continue;
                    }
                    return Err(query_err(err));
                }
            }
        }
    }
}

/// A read on a pinned connection.
enum Read<'a> {
    /// A statement of sea-orm's.
    One(&'a Statement),
    /// A select with one key as its parameter (`bytea`).
    Key(&'a str, &'a [u8]),
    /// A select with an array of keys as its parameter (`bytea[]`).
    Keys(&'a str, &'a [Vec<u8>]),
}

impl Read<'_> {
    /// Its rows, read on `conn`.
    async fn run(&self, conn: &mut PoolConnection<Postgres>) -> Result<Vec<PgRow>, sqlx::Error> {
        match *self {
            Read::One(statement) => {
                let values = statement
                    .values
                    .clone()
                    .unwrap_or(sea_orm::Values(Vec::new()));
                let query = sqlx::query_with(
                    sqlx::AssertSqlSafe(statement.sql.as_str()),
                    sea_query_sqlx::SqlxValues(values),
                );
                query.fetch_all(&mut **conn).await
            }
            Read::Key(sql, key) => {
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key);
                query.fetch_all(&mut **conn).await
            }
            Read::Keys(sql, keys) => {
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(keys);
                query.fetch_all(&mut **conn).await
            }
        }
    }
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
