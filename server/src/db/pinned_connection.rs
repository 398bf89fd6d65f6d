//! PostgreSQL's pinned connections themselves: a slot's connection taken from the pool and set
//! up for look-ups, a read on it, and a connection found closed replaced
//! ([`super::PinnedReads`] leads the look-ups to them).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use sea_orm::sqlx::{self, Postgres, pool::PoolConnection, postgres::PgRow};
use sea_orm::{DbErr, RuntimeErr, Statement};

use super::{Pinned, Shared};

impl Shared {
    /// Run `read` on a free pinned connection (the caller holds a permit of `free`).
    ///
    /// A connection the server has closed since its last statement (a fail-over, a restart,
    /// `pg_terminate_backend`, an idle-session timeout) fails the read; the read is then tried
    /// once more on a tested connection ([`crate::db::liveness`]), so that a session check does
    /// not fail for a connection that was already gone. A read is safe to repeat.
    pub(super) async fn on_connection(&self, read: Read<'_>) -> Result<Vec<PgRow>, DbErr> {
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
        let fetched = match read.run_bounded(&mut pinned.conn).await {
            // No answer in time: the connection is given up (below), and the loss noted so
            // that the pool tests its idle connections; not read again here, which could
            // take the request past its own timeout.
            Err(err) if unanswered(&err) => {
                crate::db::liveness::note_lost();
                Err(err)
            }
            Err(err) if crate::db::liveness::connection_lost(&err) => {
                tracing::debug!(error = %err, "a pinned connection was lost; reading again");
                // Closed, not given back: the pool's test of a connection given back is a
                // round trip that one no longer answering would never end.
                if let Some(mut old) = slot.take() {
                    old.conn.close_on_drop();
                }
                let fresh = Box::pin(self.fresh(true)).await?;
                read.run_bounded(&mut slot.insert(fresh).conn).await
            }
            done => done,
        };
        // After a failed read, or when its lifetime is over, the connection leaves its slot:
        // closed (by a task sqlx spawns), not given back to the pool (it is set up for look-ups
        // only, `fresh`), so that the server sees it end; the slot takes a fresh one at its
        // next read.
        let expired = || {
            slot.as_ref()
                .and_then(|pinned| pinned.renew_at)
                .is_some_and(|at| at <= Instant::now())
        };
        if (fetched.is_err() || expired())
            && let Some(mut old) = slot.take()
        {
            old.conn.close_on_drop();
        }
        fetched.map_err(query_err)
    }

    /// A connection for a slot, from the pool. After one was found closed (`after_loss`, or
    /// when the one handed out is), the loss is recorded first, so that the check-out pings each
    /// connection idle since before it and replaces one that does not answer
    /// ([`crate::db::liveness`]).
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
                crate::db::liveness::note_lost();
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
                    if !after_loss && crate::db::liveness::connection_lost(&err) {
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
pub(super) enum Read<'a> {
    /// A statement of sea-orm's.
    One(&'a Statement),
    /// A select with one key as its parameter (`bytea`).
    Key(&'a str, &'a [u8]),
    /// A select with an array of keys as its parameter (`bytea[]`).
    Keys(&'a str, &'a [Vec<u8>]),
}

impl Read<'_> {
    /// [`Read::run`] within [`crate::db::ANSWER_DEADLINE`]; past it, an I/O error (`TimedOut`),
    /// which [`crate::db::liveness::connection_lost`] takes for a lost connection. Without it,
    /// a connection that stopped answering held its slot and the look-ups waiting on it until
    /// the kernel gave up on the socket: every session check answered 503 at the request
    /// timeout even after a new primary was up, and shutdown waited for the slot.
    async fn run_bounded(
        &self,
        conn: &mut PoolConnection<Postgres>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        match tokio::time::timeout(crate::db::ANSWER_DEADLINE, self.run(conn)).await {
            Ok(done) => done,
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "PostgreSQL did not answer a pinned read in time",
            ))),
        }
    }

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

/// The error of [`Read::run_bounded`] past its deadline.
fn unanswered(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

/// A failed statement (or a row that does not decode) as sea-orm's error.
pub fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

/// sea-orm's mapping of a failed check-out (`sqlx_conn_acquire_err`, not public).
pub(super) fn acquire_err(err: sqlx::Error) -> DbErr {
    use sea_orm::ConnAcquireErr;
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}
