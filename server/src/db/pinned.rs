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
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{
    Postgres,
    pool::PoolConnection,
    postgres::{PgPool, PgRow},
};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, oneshot};

#[path = "pinned_batch.rs"]
mod batch;
#[path = "pinned_connection.rs"]
mod connection;
pub use batch::ByKey;
use batch::{Waiter, answer, take_batch};
use connection::Read;
pub use connection::query_err;

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
}

#[cfg(test)]
#[path = "pinned_tests.rs"]
mod tests;
