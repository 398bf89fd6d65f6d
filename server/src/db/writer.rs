//! SQLite writes run on a thread of their own.
//!
//! Sesame writes to SQLite through one connection (see [`super::Pools`]), so the writes of
//! all requests form one queue, and the connection is held from a write's first statement
//! until its last result has been taken. Each statement is a hand-off to the connection's
//! thread and back. Run on the request runtime, the task holding the connection waits after
//! every statement until a worker thread is free, and the two workers are busy verifying
//! signatures and writing JSON for other requests: the writer sat idle most of the time.
//! Measured with `sesame-bench` (docs/performance-history.md): passkey log-ins stopped at about
//! 1,000/s with the server using barely half the machine, at 4 clients as at 64.
//!
//! [`Writer::write`] runs a whole write (a transaction, or one statement) as a task on a
//! single-threaded runtime whose only work is writing. On a SQLite file the statements run
//! right on that thread through its own rusqlite connection (`super::writes`), so a whole
//! transaction takes one poll; without one (an in-memory database) they go through sqlx, and
//! when a statement's result arrives that thread is woken and sends the next at once. On
//! PostgreSQL, which has a pool of connections and no single writer, the write runs in the
//! caller's task.
//!
//! A write that has started runs to its end even if the request that asked for it is
//! dropped (the client went away): a transaction is never left to the pool half done.

use std::{fmt, future::Future, sync::Arc, thread};

use sea_orm::{ConnAcquireErr, DatabaseConnection, DbBackend, DbErr};
use tokio::{
    runtime,
    sync::{Mutex, oneshot},
};
use tracing::Instrument;

use super::writes::{InlineWriter, WriteConn};
use crate::error::ApiError;

/// How long a write waits for the writes queued before it; then it fails (503 `unavailable`).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Writer {
    db: DatabaseConnection,
    /// SQLite file: the writer thread's own connection for [`Writer::write`].
    inline: Option<Arc<InlineWriter>>,
    /// Held by an inline write from its first statement to its last: one write at a time on
    /// the inline connection, even when a write waits for something between statements.
    lock: Arc<Mutex<()>>,
    /// The write thread's runtime; `None` runs writes in the caller's task.
    handle: Option<runtime::Handle>,
    /// Dropping it (with the application state) ends the write thread.
    _stop: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("own_thread", &self.handle.is_some())
            .field("inline", &self.inline.is_some())
            .finish()
    }
}

impl Writer {
    /// A writer for `db`: with a thread of its own on SQLite, in the caller's task otherwise.
    /// `inline` (a SQLite file) is what [`Writer::write`] writes through on that thread.
    pub fn new(db: DatabaseConnection, inline: Option<InlineWriter>) -> std::io::Result<Self> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(Self {
                db,
                inline: None,
                lock: Arc::default(),
                handle: None,
                _stop: None,
            });
        }
        let rt = runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        thread::Builder::new()
            .name("sesame-writer".into())
            .spawn(move || {
                // Runs the spawned writes until the sender is dropped.
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            db,
            inline: inline.map(Arc::new),
            lock: Arc::default(),
            handle: Some(handle),
            _stop: Some(stop),
        })
    }

    /// Run `write` with sqlx's writing connection and wait for its result.
    async fn run<F, Fut, T>(&self, write: F) -> Result<T, ApiError>
    where
        F: FnOnce(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = write(self.db.clone());
        let Some(handle) = &self.handle else {
            return task.await;
        };
        handle
            .spawn(task.instrument(tracing::Span::current()))
            .await
            .map_err(|e| ApiError::Internal(format!("write task: {e}")))?
    }

    /// Run `write` on the writer's thread through the inline connection ([`WriteConn::Inline`])
    /// when there is one, else through sqlx's ([`WriteConn::Orm`]). The
    /// statements of an inline write run without a thread switch, while the task holds the
    /// writer's lock (see `super::writes`).
    pub async fn write<F, Fut, T>(&self, write: F) -> Result<T, ApiError>
    where
        F: FnOnce(WriteConn) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
        T: Send + 'static,
    {
        let (Some(handle), Some(inline)) = (&self.handle, &self.inline) else {
            return self.run(|db| write(WriteConn::Orm(db))).await;
        };
        let lock = self.lock.clone();
        let task = write(WriteConn::Inline(inline.clone()));
        let queued = std::time::Instant::now();
        let locked = async move {
            // A write waits for those queued before it at most as long as it waited for sqlx's
            // pool before (its acquire timeout). When another process holds SQLite's write
            // lock, each write blocks this thread for its busy timeout in turn, so the timer
            // cannot fire meanwhile: the time waited is checked once the lock is held too.
            // Otherwise a queue of writes would wait out one busy timeout after the other.
            let held = tokio::time::timeout(LOCK_WAIT, lock.lock()).await;
            let _held = match held {
                Ok(held) if queued.elapsed() <= LOCK_WAIT => held,
                _ => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout).into()),
            };
            task.await
        };
        handle
            .spawn(locked.instrument(tracing::Span::current()))
            .await
            .map_err(|e| ApiError::Internal(format!("write task: {e}")))?
    }
}
