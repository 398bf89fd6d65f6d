//! PostgreSQL: connections the server has closed, noticed once and tested at check-out.
//!
//! A fail-over, a restart of PostgreSQL, `pg_terminate_backend` or an idle-session timeout
//! closes connections that sit idle in the pool, and nothing tells the pool: sqlx hands an idle
//! connection out without a round trip (a ping at every check-out would be a second round trip
//! for every statement), and only one idle for 30 s or more is pinged first (`db::connect`).
//! Without more, each closed connection would fail one statement with 503.
//!
//! So the first statement that fails because its connection is gone records the moment
//! ([`note`]). From then on, a connection that has sat idle since before that moment is pinged
//! when it is checked out ([`before_acquire`]), and one that does not answer is replaced by a
//! new one. A connection given back after that moment has passed sqlx's test on the way back
//! (`return_to_pool`, a `Sync` round trip), so it is handed out as usual. The statement that
//! noticed is tried again where that is safe, through [`repeat_if_lost`]: a `BEGIN`
//! (`store::begin_write`), every read on the read pool ([`super::ReadPool`]) and `/readyz`'s
//! ping; and by code of their own, a new ceremony's `INSERT` (`store::ceremonies::insert`) and
//! a pinned read (`super::pinned`).
//!
//! The moment is kept for the process, not per pool: a server has one PostgreSQL pool, and a
//! loss seen on another pool only costs a ping per idle connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Connection as _, pool::PoolConnectionMetadata, postgres::PgConnection};
use sea_orm::{DbErr, RuntimeErr};

/// A connection idle this long is pinged before it is handed out, loss seen or not: a firewall
/// or a load balancer may have dropped it silently.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// How long a check-out's ping may take: a round trip on an idle connection, nothing queued.
const PING_DEADLINE: Duration = Duration::from_secs(1);

/// Nanoseconds after [`epoch`] at which a closed connection was last noticed, plus one; 0 when
/// none has been.
static LOST_AT: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX - 1)
}

/// Did the statement fail because its connection is gone, not because of the statement? The
/// socket failed or the stream broke off, or PostgreSQL reported a connection exception
/// (SQLSTATE class `08`) or ended the session (`57P01` admin shutdown, `57P02` crash
/// shutdown, `57P03` cannot connect now, `57P04` database dropped, `57P05` idle session
/// timeout; PostgreSQL documentation, appendix A "Error Codes").
pub fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// Record now as the moment a closed connection was noticed.
pub fn note_lost() {
    LOST_AT.fetch_max(nanos_since_epoch(Instant::now()) + 1, Ordering::Relaxed);
}

/// If `err` says its connection is gone ([`connection_lost`]), record it ([`note_lost`]) and
/// say so: the statement may be tried again on another connection.
pub fn note(err: &DbErr) -> bool {
    let lost = lost(err);
    if lost {
        note_lost();
    }
    lost
}

/// [`connection_lost`], for sea-orm's error.
fn lost(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => connection_lost(e),
        _ => false,
    }
}

/// Should a connection that has been idle for `idle_for` be pinged before it is handed out?
/// When it has been idle for [`PING_AFTER_IDLE`], or since before a closed connection was last
/// noticed.
fn needs_ping(idle_for: Duration) -> bool {
    ping_due(
        nanos_since_epoch(Instant::now()),
        idle_for,
        LOST_AT.load(Ordering::Relaxed),
    )
}

/// [`needs_ping`] at `now` (nanoseconds after [`epoch`]), the loss noticed at `lost_at` (as
/// [`LOST_AT`] keeps it).
fn ping_due(now: u64, idle_for: Duration, lost_at: u64) -> bool {
    if idle_for >= PING_AFTER_IDLE {
        return true;
    }
    let idle_since = now.saturating_sub(u64::try_from(idle_for.as_nanos()).unwrap_or(u64::MAX));
    // `lost_at` is one more than the moment: a loss at the very moment it went idle counts.
    lost_at > idle_since
}

/// sqlx's `before_acquire` for the PostgreSQL pool: a connection that [`needs_ping`] and does
/// not answer is refused, and the pool opens a new one in its place (sqlx-core 0.9
/// `pool/inner.rs`, `check_idle_conn`). `Ok(false)`, not the error: a closed connection is
/// expected here, not worth sqlx's warning.
pub fn before_acquire(
    conn: &mut PgConnection,
    meta: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if !needs_ping(meta.idle_for) {
            return Ok(true);
        }
        // Bounded: a connection to a host that stopped answering (its socket still open)
        // would hold the check-out until sqlx's acquire timeout, and then the next one again.
        let answered = tokio::time::timeout(PING_DEADLINE, conn.ping()).await;
        Ok(matches!(answered, Ok(Ok(()))))
    })
}

/// Run a statement that is safe to repeat (a stand-alone read, a `BEGIN`), and once more if it
/// failed because its connection was gone: the second check-out pings the idle connections
/// ([`before_acquire`]).
pub async fn repeat_if_lost<T, F, Fut>(mut statement: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    match statement().await {
        Err(err) if note(&err) => {
            tracing::debug!(error = %err, "a pooled connection was closed; sending it again");
            statement().await
        }
        done => done,
    }
}

#[cfg(test)]
#[path = "liveness_tests.rs"]
mod tests;
