//! Pinned connections on PostgreSQL: kept from read to read, and replaced when their lifetime
//! is over. Run when `SESAME_TEST_POSTGRES_URL` is set (as in CI), on a database of their own.

#![allow(clippy::unwrap_used)]

use sea_orm::sqlx::{self, Row};

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
    assert_eq!(pinned.0.lifetime, Some(Duration::from_secs(30 * 60)));
    let pids = backends(&pinned).await;
    assert_eq!((pids[0], pids[1]), (pids[2], pids[3]), "{pids:?}");
    assert_ne!(pids[0], pids[1]);
    pinned.release().await;

    // A lifetime that is over at once: every read is the last on its connection, which is
    // closed, not given back to the pool.
    let fresh = Arc::into_inner(PinnedReads::new(&db, 4).unwrap().0).unwrap();
    let renewed = PinnedReads(Arc::new(Shared {
        lifetime: Some(Duration::ZERO),
        ..fresh
    }));
    let pids = backends(&renewed).await;
    let distinct: std::collections::BTreeSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 4, "{pids:?}");
    renewed.release().await;

    scratch.drop(db).await;
}

#[test]
fn a_sixth_of_the_pool_is_pinned_and_at_least_two() {
    let pinned: Vec<usize> = [1, 3, 4, 6, 8, 12, 17, 18, 40]
        .into_iter()
        .map(pinned_connections)
        .collect();
    assert_eq!(pinned, [0, 0, 2, 2, 2, 2, 2, 3, 6]);
}

/// How many sessions wait for an advisory lock.
async fn lock_waiters(admin: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        .fetch_one(admin)
        .await
        .unwrap()
}

/// Reads that find every pinned connection busy take whichever is given back first: with the
/// first connection held up, a waiting read goes to the second as soon as it is free.
#[tokio::test]
async fn a_waiting_read_takes_the_first_connection_given_back() {
    use sea_orm::sqlx::Connection;
    let Some(scratch) = ScratchDatabase::create("sesame_pinned_wait").await else {
        return;
    };
    let db = crate::db::connect(&scratch.url, 4).await.unwrap();
    let pinned = Arc::new(PinnedReads::new(&db, 4).unwrap());
    assert_eq!(pinned.0.slots.len(), 2);

    // Another session holds advisory locks 1 and 2; each of the two reads waits for one.
    let mut holder = sqlx::PgConnection::connect(&scratch.url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(1), pg_advisory_lock(2)")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut watcher = sqlx::PgConnection::connect(&scratch.url).await.unwrap();
    let read = |sql: String| {
        let pinned = Arc::clone(&pinned);
        tokio::spawn(async move {
            let statement = Statement::from_string(DbBackend::Postgres, sql);
            pinned.query_one(&statement).await.map(|row| row.is_some())
        })
    };
    let blocked = |key: i64| {
        read(format!(
            "SELECT pg_advisory_lock({key}), pg_advisory_unlock({key})"
        ))
    };
    let first = blocked(1);
    while lock_waiters(&mut watcher).await < 1 {
        tokio::task::yield_now().await;
    }
    let second = blocked(2);
    while lock_waiters(&mut watcher).await < 2 {
        tokio::task::yield_now().await;
    }

    // Both connections are busy: a third read waits. Freeing the second connection lets it
    // through while the first is still held up.
    let third = read("SELECT 1".into());
    sqlx::query("SELECT pg_advisory_unlock(2)")
        .execute(&mut holder)
        .await
        .unwrap();
    assert!(second.await.unwrap().unwrap());
    let third = tokio::time::timeout(Duration::from_secs(10), third).await;
    assert!(
        matches!(third, Ok(Ok(Ok(true)))),
        "the third read waited for the held-up connection: {third:?}"
    );
    assert!(!first.is_finished());

    sqlx::query("SELECT pg_advisory_unlock(1)")
        .execute(&mut holder)
        .await
        .unwrap();
    assert!(first.await.unwrap().unwrap());
    holder.close().await.unwrap();
    watcher.close().await.unwrap();
    pinned.release().await;
    scratch.drop(db).await;
}

/// The pinned connections use an index where there is one, also on tables too small, and not
/// yet analysed, for the planner to prefer it: a batch's plan made on a new deployment (where
/// it joined by scanning both tables whole) stays fast as the tables grow.
#[tokio::test]
async fn look_ups_use_the_index_on_tables_not_yet_analysed() {
    use sea_orm::sqlx::Connection;
    let Some(scratch) = ScratchDatabase::create("sesame_pinned_plan").await else {
        return;
    };
    let db = crate::db::connect(&scratch.url, 4).await.unwrap();
    let pinned = PinnedReads::new(&db, 4).unwrap();
    let mut admin = sqlx::PgConnection::connect(&scratch.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 9) i;
         CREATE TABLE keyed (key bytea PRIMARY KEY, v int NOT NULL,
                             parent_id int REFERENCES parent (id));
         INSERT INTO keyed SELECT int4send(i), i, i FROM generate_series(1, 9) i;
         CREATE FUNCTION plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
         DECLARE line text; plan text := '';
         BEGIN
           FOR line IN EXECUTE 'EXPLAIN ' || q LOOP plan := plan || line || E'\n'; END LOOP;
           RETURN plan;
         END $$",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    // A batch of ten keys (the number a generic plan of `= ANY($1)` assumes).
    let keys: Vec<String> = (1..=10).map(|i| format!("int4send({i})")).collect();
    let select = format!(
        "SELECT keyed.key, parent.name FROM keyed LEFT JOIN parent ON parent.id = keyed.parent_id \
         WHERE keyed.key = ANY(ARRAY[{}])",
        keys.join(", ")
    );
    let sql = format!("SELECT plan_of('{select}')");
    let row = pinned
        .query_one(&Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    let plan: String = row.get(0);
    assert!(!plan.contains("Seq Scan"), "{plan}");
    assert!(
        plan.contains("keyed_pkey") && plan.contains("parent_pkey"),
        "{plan}"
    );
    pinned.release().await;
    scratch.drop(db).await;
}

#[path = "pinned_batch_tests.rs"]
mod batch;
