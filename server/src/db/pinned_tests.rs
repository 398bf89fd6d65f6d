//! Pinned connections on PostgreSQL: kept from read to read, and replaced when their lifetime
//! is over. Run when `SESAME_TEST_POSTGRES_URL` is set (as in CI), on a database of their own.

#![allow(clippy::unwrap_used)]

use sea_orm::sqlx::Row;

use super::*;
use crate::db::scratch::ScratchDatabase;

/// The server process behind the pinned connection that answers, for four reads in a row.
async fn backends(pinned: &PinnedReads) -> Vec<i32> {
    let statement = Statement::from_string(DbBackend::Postgres, "SELECT pg_backend_pid()");
    let mut pids = Vec::new();
    for _ in 0..4 {
        let row = pinned.query_one(&statement).await.unwrap().unwrap();
        pids.push(row.try_get::<i32, _>(0).unwrap());
    }
    pids
}

#[tokio::test]
async fn a_pinned_connection_is_kept_and_replaced_when_its_lifetime_is_over() {
    let Some(scratch) = ScratchDatabase::create("sesame_pinned").await else {
        return;
    };
    let db = crate::db::connect(&scratch.url, 4).await.unwrap();

    // The pool's lifetime (sqlx's default, 30 minutes): the two connections take turns.
    let pinned = PinnedReads::new(&db, 4).unwrap();
    assert_eq!(pinned.lifetime, Some(Duration::from_secs(30 * 60)));
    let pids = backends(&pinned).await;
    assert_eq!((pids[0], pids[1]), (pids[2], pids[3]), "{pids:?}");
    assert_ne!(pids[0], pids[1]);
    pinned.release().await;

    // A lifetime that is over at once: every read is the last on its connection, which is
    // closed, not given back to the pool.
    let renewed = PinnedReads {
        lifetime: Some(Duration::ZERO),
        ..PinnedReads::new(&db, 4).unwrap()
    };
    let pids = backends(&renewed).await;
    let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 4, "{pids:?}");
    renewed.release().await;

    scratch.drop(db).await;
}
