//! When connections are tested at check-out, and the retries after the server closed them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::db::scratch::ScratchDatabase;

#[test]
fn only_connections_idle_since_before_a_loss_or_for_long_are_pinged() {
    const SEC: u64 = 1_000_000_000;
    let never = 0;
    let lost_at_100s = 100 * SEC + 1;
    // No loss noticed: only a connection idle for long.
    assert!(!ping_due(200 * SEC, Duration::from_secs(29), never));
    assert!(ping_due(200 * SEC, PING_AFTER_IDLE, never));
    // Idle since 95 s, loss noticed at 100 s: pinged.
    assert!(ping_due(101 * SEC, Duration::from_secs(6), lost_at_100s));
    // Idle since exactly the loss: pinged.
    assert!(ping_due(101 * SEC, Duration::from_secs(1), lost_at_100s));
    // Given back at 100.5 s, after the loss (and tested on the way back by sqlx): not pinged.
    assert!(!ping_due(
        101 * SEC,
        Duration::from_millis(500),
        lost_at_100s
    ));
    // Idle for longer than the process has run: since before any loss.
    assert!(ping_due(SEC, Duration::from_secs(5), 1));
}

#[test]
fn only_errors_of_a_lost_connection_count() {
    let io = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(
        std::io::Error::from(std::io::ErrorKind::BrokenPipe),
    ))));
    assert!(lost(&io));
    let not_found = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
        sqlx::Error::RowNotFound,
    )));
    assert!(!lost(&not_found));
    assert!(!lost(&DbErr::RecordNotFound("x".into())));
}

/// On PostgreSQL, after the server closed every connection of the pool (as a fail-over or
/// `pg_terminate_backend` does): a transaction's `BEGIN` and the read pool's reads each succeed,
/// the first statement to find its connection closed is noted, and after it plain statements
/// get tested connections. Runs when `SESAME_TEST_POSTGRES_URL` is set (as in CI), on a
/// database of its own.
#[tokio::test]
async fn after_the_server_closed_the_pools_connections_nothing_fails_twice() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let Some(scratch) = ScratchDatabase::create("sesame_live").await else {
        return;
    };
    let db = crate::db::connect(&scratch.url, 4).await.unwrap();

    // A transaction: its `BEGIN` is sent again.
    close_every_connection(&db, &scratch).await;
    let noted = LOST_AT.load(Ordering::Relaxed);
    let txn = crate::store::begin_write(&db).await.expect("begun again");
    txn.commit().await.unwrap();
    assert!(
        LOST_AT.load(Ordering::Relaxed) > noted,
        "the first BEGIN found it closed"
    );

    // Stand-alone reads on the read pool, of one row and of all: read again.
    let reads = super::super::ReadPool::new(db.clone());
    let select_one = || Statement::from_string(DbBackend::Postgres, "SELECT 1 AS one");
    close_every_connection(&db, &scratch).await;
    let noted = LOST_AT.load(Ordering::Relaxed);
    let row = reads.query_one_raw(select_one()).await.expect("read again");
    assert_eq!(row.unwrap().try_get::<i32>("", "one").unwrap(), 1);
    assert!(
        LOST_AT.load(Ordering::Relaxed) > noted,
        "the first read found it closed"
    );
    close_every_connection(&db, &scratch).await;
    let noted = LOST_AT.load(Ordering::Relaxed);
    let rows = reads.query_all_raw(select_one()).await.expect("read again");
    assert_eq!(rows.len(), 1);
    assert!(
        LOST_AT.load(Ordering::Relaxed) > noted,
        "the first read of all rows found it closed"
    );

    // A new ceremony (an INSERT outside a transaction, the first statement of a log-in): sent
    // again, and stored once.
    crate::db::migrate(&db).await.unwrap();
    close_every_connection(&db, &scratch).await;
    let noted = LOST_AT.load(Ordering::Relaxed);
    let row = crate::service::new_ceremony("login", "{}".into(), 0, 60_000);
    let id = row.id;
    crate::store::ceremonies::insert(&db, row)
        .await
        .expect("inserted again");
    assert!(
        LOST_AT.load(Ordering::Relaxed) > noted,
        "the first INSERT found it closed"
    );
    let stored = crate::store::ceremonies::find_live(&db, id, "login", 1).await;
    assert_eq!(stored.unwrap().map(|c| c.id), Some(id));

    // Any statement: the first fails (nothing retries it), and once it is noted (as the
    // server's error mapping does) the connections idle since are tested at check-out.
    close_every_connection(&db, &scratch).await;
    let first = db
        .query_one_raw(select_one())
        .await
        .expect_err("a closed connection");
    assert!(note(&first), "{first}");
    for _ in 0..4 {
        db.query_one_raw(select_one())
            .await
            .expect("a tested connection");
    }

    scratch.drop(db).await;
}

/// Have the pool hold three idle connections, then end every session of `scratch`'s database
/// and wait until they are gone; a statement on the pool's next connection fails for it
/// (nothing has noticed yet, so it was not tested).
async fn close_every_connection(db: &sea_orm::DatabaseConnection, scratch: &ScratchDatabase) {
    let pool = db.get_postgres_connection_pool();
    let held = (
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
    );
    drop(held);
    // Given back by a task each (sqlx tests a connection on its way back).
    while pool.num_idle() < 3 {
        tokio::task::yield_now().await;
    }
    // With a timeout, `pg_terminate_backend` waits until the session has ended (PostgreSQL 14+).
    scratch
        .admin(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        .await;
}
