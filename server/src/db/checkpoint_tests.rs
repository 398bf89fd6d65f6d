//! The checkpoint thread copies the log into the database file every [`EVERY`] commits, and
//! not before.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Checkpointer, EVERY};

/// Long enough for a pass on a loaded CI machine; a pass that is on time returns at once.
const WAIT: Duration = Duration::from_secs(10);

/// Rows of `t` in the database file itself, leaving out what is only in its log: an
/// `immutable` connection reads the file and ignores the `-wal`.
fn rows_in_file(path: &std::path::Path) -> i64 {
    let uri = format!("file:{}?immutable=1", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(uri, flags).unwrap();
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_few_commits_the_thread_copies_the_log_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let writer = Connection::open(&path).unwrap();
    let mode: String = writer
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // The writer never checkpoints here, so whatever reaches the file was copied by the thread.
    writer
        .execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (n INTEGER)")
        .unwrap();
    writer
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let checkpointer = Checkpointer::start(&path).unwrap();

    for n in 0..EVERY - 1 {
        writer.execute("INSERT INTO t VALUES (?1)", [n]).unwrap();
        checkpointer.committed();
    }
    assert_eq!(rows_in_file(&path), 0, "the thread has not been woken yet");
    writer
        .execute("INSERT INTO t VALUES (?1)", [EVERY])
        .unwrap();
    checkpointer.committed();
    assert!(checkpointer.wait_for_passes(1, WAIT), "a pass ran");
    assert_eq!(rows_in_file(&path), i64::from(EVERY));

    // Stopping waits for the thread, which closes its connection: the writer's is then the
    // last, and closing it copies the rest of the log and deletes the `-wal` file.
    drop(checkpointer);
    drop(writer);
    assert!(!dir.path().join("c.db-wal").exists(), "the log is gone");
    assert_eq!(rows_in_file(&path), i64::from(EVERY));
}
