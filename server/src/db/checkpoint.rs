//! WAL checkpoints of a SQLite file, on a thread of their own.
//!
//! In WAL mode every commit appends the pages it changed to the `-wal` file, and a checkpoint
//! copies them back into the database file and `fsync`s both files. By default SQLite runs a
//! checkpoint inside the commit that takes the log past 1,000 pages, on the connection that
//! committed: here the one writer, so every write of the process waited for those `fsync`s.
//! Profiled during `passkey-login` (docs/performance-history.md, sixteenth session), the
//! writer thread spent about a fifth of its time blocked in `fsync`, about 95 of them a second.
//!
//! [`Checkpointer`] moves that work to its own thread and connection: every [`EVERY`] commits
//! the writer wakes it, and it runs a `PASSIVE` checkpoint, which copies what it can without
//! taking the write lock or waiting for anyone (<https://sqlite.org/c3ref/wal_checkpoint_v2.html>).
//! The writer keeps a checkpoint of its own at [`WRITER_CHECKPOINT_PAGES`]: by then the thread
//! has copied nearly everything, so what is left for the writer is the pages of the last few
//! commits. That last checkpoint under the write lock is what lets the next write start the log
//! again from its beginning (<https://sqlite.org/wal.html#avoiding_excessively_large_wal_files>),
//! so the `-wal` file stays at about 16 MB (4,000 pages).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use rusqlite::{Connection, OpenFlags};

/// Commits between two wake-ups of the checkpoint thread. A passkey log-in's two commits
/// write about 20 pages to the log (measured, docs/performance-history.md), so a pass copies about
/// 300 pages.
pub const EVERY: u32 = 32;

/// The writer's own checkpoint (`PRAGMA wal_autocheckpoint`), in pages of the log: the point
/// where the log starts again; SQLite's default is 1,000.
pub const WRITER_CHECKPOINT_PAGES: u32 = 4_000;

#[derive(Default)]
struct State {
    due: bool,
    stop: bool,
    /// Passes run so far (for the tests).
    passes: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the thread (`due`, `stop`) and, after each pass, whoever waits for one.
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.wake
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The checkpoint thread of one database file; dropping this ends it and waits for it, so its
/// connection is closed before the writer's (the last connection to close a WAL database
/// copies the log into it and deletes the `-wal` file: a stopped Sesame leaves one file).
pub struct Checkpointer {
    shared: Arc<Shared>,
    commits: AtomicU32,
    thread: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("commits", &self.commits)
            .finish()
    }
}

impl Checkpointer {
    /// Start the thread for the database at `path`. Its connection is opened at the first
    /// wake-up, so an idle server holds none.
    pub fn start(path: &Path) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let path = path.to_owned();
        let theirs = shared.clone();
        let thread = thread::Builder::new()
            .name("sesame-checkpoint".into())
            .stack_size(256 * 1024)
            .spawn(move || run(&path, &theirs))?;
        Ok(Self {
            shared,
            commits: AtomicU32::new(0),
            thread: Some(thread),
        })
    }

    /// The writer committed a transaction; every [`EVERY`] commits this wakes the thread.
    pub fn committed(&self) {
        if self.commits.fetch_add(1, Ordering::Relaxed) % EVERY == EVERY - 1 {
            self.shared.state().due = true;
            self.shared.wake.notify_all();
        }
    }

    /// Commits counted so far.
    #[cfg(test)]
    pub fn commits(&self) -> u32 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Wait until the thread has run `passes` passes in all; false after `timeout`.
    #[cfg(test)]
    pub fn wait_for_passes(&self, passes: u64, timeout: std::time::Duration) -> bool {
        let (state, _) = self
            .shared
            .wake
            .wait_timeout_while(self.shared.state(), timeout, |s| s.passes < passes)
            .unwrap_or_else(PoisonError::into_inner);
        state.passes >= passes
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state().stop = true;
        self.shared.wake.notify_all();
        // At most one pass (milliseconds) to finish; a panic in it has nothing left to tell.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(path: &Path, shared: &Shared) {
    let mut conn = None;
    loop {
        {
            let mut state = shared.state();
            while !state.due && !state.stop {
                state = shared.wait(state);
            }
            if state.stop {
                return;
            }
            state.due = false;
        }
        if conn.is_none() {
            conn = open(path)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "cannot open the checkpoint connection"),
                )
                .ok();
        }
        if let Some(conn) = &conn
            && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            // The writer's own checkpoint still bounds the log.
            tracing::warn!(error = %e, "background WAL checkpoint failed");
        }
        shared.state().passes += 1;
        shared.wake.notify_all();
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    // A checkpoint copies pages from file to file and needs almost no page cache; it syncs
    // both files as the writer's checkpoint did (`synchronous = NORMAL`).
    conn.execute_batch("PRAGMA cache_size = -64; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
