//! Look-ups by key on PostgreSQL's pinned connections: read together when they wait, and none
//! lost with a request that goes away. Run when `SESAME_TEST_POSTGRES_URL` is set (as in CI).

use super::*;

/// A table of keys for [`PinnedReads::query_by_key`], and a sequence that numbers statements:
/// every row of one statement carries the same `n`.
async fn keyed_table(url: &str) -> sqlx::PgConnection {
    use sea_orm::sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE keyed (key bytea PRIMARY KEY, v int NOT NULL);
         INSERT INTO keyed SELECT int4send(i), i FROM generate_series(1, 9) i;
         CREATE SEQUENCE statements",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin
}

/// The one-key and the `ANY` select of `select`, a select of `keyed` up to `WHERE keyed.key`.
fn by_keys(select: &str) -> ByKey {
    ByKey {
        one: format!("{select} = $1"),
        any: format!("{select} = ANY($1)"),
        key_column: "key".into(),
    }
}

/// Look-ups in `keyed`; each row carries the number of the statement that read it.
static BY_KEYS: std::sync::LazyLock<ByKey> = std::sync::LazyLock::new(|| {
    by_keys(
        "WITH s AS MATERIALIZED (SELECT nextval('statements') AS n) \
         SELECT keyed.key, keyed.v, s.n FROM keyed, s WHERE keyed.key",
    )
});

fn key(i: i32) -> Vec<u8> {
    i.to_be_bytes().to_vec()
}

/// A scratch database with `keyed`, its pinned reads, and two more connections: one that holds
/// advisory locks, one that watches who waits for them.
struct Keyed {
    scratch: ScratchDatabase,
    db: DatabaseConnection,
    pinned: Arc<PinnedReads>,
    holder: sqlx::PgConnection,
    watcher: sqlx::PgConnection,
}

impl Keyed {
    async fn create(name: &str) -> Option<Self> {
        use sea_orm::sqlx::Connection;
        let scratch = ScratchDatabase::create(name).await?;
        let db = crate::db::connect(&scratch.url, 4).await.unwrap();
        let pinned = Arc::new(PinnedReads::new(&db, 4).unwrap());
        let holder = keyed_table(&scratch.url).await;
        let watcher = sqlx::PgConnection::connect(&scratch.url).await.unwrap();
        Some(Self {
            scratch,
            db,
            pinned,
            holder,
            watcher,
        })
    }

    async fn unlock(&mut self, lock: i64) {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(lock)
            .execute(&mut self.holder)
            .await
            .unwrap();
    }

    /// Let the read held up on lock 1 end, and drop everything.
    async fn finish(mut self, first: tokio::task::JoinHandle<Result<bool, DbErr>>) {
        self.unlock(1).await;
        assert!(first.await.unwrap().unwrap());
        self.close().await;
    }

    /// With no look-up left waiting: drop everything.
    async fn close(self) {
        use sea_orm::sqlx::Connection;
        assert!(self.pinned.0.waiting().is_empty());
        self.holder.close().await.unwrap();
        self.watcher.close().await.unwrap();
        self.pinned.release().await;
        self.scratch.drop(self.db).await;
    }
}

/// Hold both pinned connections of `pinned` up, each on an advisory lock that `holder` holds:
/// the locks 1 and 2; returns the two reads.
async fn hold_both(
    pinned: &Arc<PinnedReads>,
    holder: &mut sqlx::PgConnection,
    watcher: &mut sqlx::PgConnection,
) -> [tokio::task::JoinHandle<Result<bool, DbErr>>; 2] {
    sqlx::query("SELECT pg_advisory_lock(1), pg_advisory_lock(2)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut held = Vec::new();
    for lock in [1, 2] {
        let pinned = Arc::clone(pinned);
        held.push(tokio::spawn(async move {
            let sql = format!("SELECT pg_advisory_lock({lock}), pg_advisory_unlock({lock})");
            let statement = Statement::from_string(DbBackend::Postgres, sql);
            pinned.query_one(&statement).await.map(|row| row.is_some())
        }));
        while lock_waiters(watcher).await < lock {
            tokio::task::yield_now().await;
        }
    }
    held.try_into().unwrap()
}

type Found = Option<(i32, i64)>;

/// Look `i` up: its row's `v` and statement number.
fn look_up(
    pinned: &Arc<PinnedReads>,
    select: &'static ByKey,
    i: i32,
) -> tokio::task::JoinHandle<Result<Found, DbErr>> {
    let pinned = Arc::clone(pinned);
    tokio::spawn(async move {
        let row = pinned.query_by_key(select, &key(i)).await?;
        Ok(row.map(|row| (row.get::<i32, _>("v"), row.get::<i64, _>("n"))))
    })
}

async fn until_waiting(pinned: &PinnedReads, n: usize) {
    while pinned.0.waiting().len() < n {
        tokio::task::yield_now().await;
    }
}

/// Look-ups that wait while every pinned connection is busy are read together, with one
/// statement, by the first connection given back: each gets its own row (or none), and a key
/// asked for twice is read again by the next statement.
#[tokio::test]
async fn waiting_look_ups_are_read_with_one_statement() {
    let Some(mut k) = Keyed::create("sesame_pinned_batch").await else {
        return;
    };
    let pinned = Arc::clone(&k.pinned);

    // Free connections: a look-up is read at once, on its own.
    let alone = look_up(&pinned, &BY_KEYS, 3).await.unwrap().unwrap();
    assert_eq!(alone, Some((3, 1)));

    let [first, second] = hold_both(&pinned, &mut k.holder, &mut k.watcher).await;
    let asked = [2, 7, 42, 5, 7];
    let mut waiting = Vec::new();
    for (n, i) in asked.into_iter().enumerate() {
        waiting.push(look_up(&pinned, &BY_KEYS, i));
        until_waiting(&pinned, n + 1).await;
    }
    k.unlock(2).await;
    let mut found = Vec::new();
    for look_up in waiting {
        found.push(look_up.await.unwrap().unwrap());
    }
    // Statement 2 read 2, 7, 42 and 5 (42 is not there); the second 7 waited for statement 3.
    assert_eq!(
        found,
        [Some((2, 2)), Some((7, 2)), None, Some((5, 2)), Some((7, 3))]
    );
    assert!(second.await.unwrap().unwrap());
    assert!(!first.is_finished());
    k.finish(first).await;
}

/// Only the first look-up of a line starts a reader: one that finds others waiting joins them
/// and takes no second connection, though one is free, and both are read by one statement.
#[tokio::test]
async fn a_look_up_that_finds_a_line_joins_it() {
    use std::future::Future;
    use std::task::{Context, Waker};
    let Some(k) = Keyed::create("sesame_pinned_join").await else {
        return;
    };
    let (four, eight) = (key(4), key(8));
    let (first, second) = {
        let pinned = &k.pinned;
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = std::pin::pin!(pinned.query_by_key(&BY_KEYS, &four));
        let mut second = std::pin::pin!(pinned.query_by_key(&BY_KEYS, &eight));
        // Polled once each on this thread: the reader the first starts has not run yet.
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert_eq!(pinned.0.free.available_permits(), 1);
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            pinned.0.free.available_permits(),
            1,
            "a look-up that found a line took a connection of its own"
        );
        tokio::join!(first, second)
    };
    let read = |row: Option<PgRow>| row.map(|row| (row.get::<i32, _>("v"), row.get::<i64, _>("n")));
    assert_eq!(read(first.unwrap()), Some((4, 1)));
    assert_eq!(read(second.unwrap()), Some((8, 1)));
    k.close().await;
}

/// Look-ups in `keyed` that wait for advisory lock 3.
static BY_KEYS_HELD: std::sync::LazyLock<ByKey> = std::sync::LazyLock::new(|| {
    by_keys(
        "SELECT keyed.key, keyed.v, 0::bigint AS n \
         FROM keyed, (SELECT pg_advisory_lock(3)) AS held WHERE keyed.key",
    )
});

/// Look-ups are read by a task of their own: a request that goes away while its look-up is
/// being read (its future dropped half way, as when its client disconnects) takes none of the
/// others read with it down.
#[tokio::test]
async fn a_request_that_goes_away_loses_no_one_elses_look_up() {
    let Some(mut k) = Keyed::create("sesame_pinned_gone").await else {
        return;
    };
    let pinned = Arc::clone(&k.pinned);
    sqlx::query("SELECT pg_advisory_lock(3)")
        .execute(&mut k.holder)
        .await
        .unwrap();

    let [first, second] = hold_both(&pinned, &mut k.holder, &mut k.watcher).await;
    let gone = look_up(&pinned, &BY_KEYS_HELD, 4);
    until_waiting(&pinned, 1).await;
    let other = look_up(&pinned, &BY_KEYS_HELD, 6);
    until_waiting(&pinned, 2).await;
    // The connection given back reads both with one statement, which waits for lock 3; then
    // the first request goes away.
    k.unlock(2).await;
    assert!(second.await.unwrap().unwrap());
    while lock_waiters(&mut k.watcher).await < 2 {
        tokio::task::yield_now().await;
    }
    assert!(pinned.0.waiting().is_empty());
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());

    // The other is answered once lock 3 is free.
    k.unlock(3).await;
    let found = tokio::time::timeout(Duration::from_secs(10), other).await;
    assert!(
        matches!(found, Ok(Ok(Ok(Some((6, 0)))))),
        "the look-up was lost with the request that went away: {found:?}"
    );
    k.finish(first).await;
}
