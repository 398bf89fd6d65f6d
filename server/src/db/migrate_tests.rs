//! Several instances starting at once on one database with migrations pending: each waits for
//! the one applying them, and all start. A migration that fails leaves nothing behind. On
//! PostgreSQL a migration waits for a table lock a bounded time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[tokio::test]
async fn instances_migrating_at_once_all_succeed() {
    let Some(scratch) = super::scratch::ScratchDatabase::create("migrate").await else {
        return;
    };
    let mut dbs = four_migrating_at_once(&scratch.url, 2).await;
    let first = dbs.remove(0);
    for db in dbs {
        db.close().await.unwrap();
    }
    scratch.drop(first).await;
}

/// Processes starting at once on one SQLite file (a server and a `sesame migrate`, or two
/// servers on one host): each has its own pool, as a process would.
#[tokio::test]
async fn instances_migrating_at_once_on_one_sqlite_file_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/{}",
        dir.path().display(),
        super::scratch::SQLITE_FILE
    );
    four_migrating_at_once(&url, 1).await;
}

/// Four pools of `connections` on `url` apply the migrations at the same time: all succeed,
/// and none is left pending. The pools, still open.
async fn four_migrating_at_once(url: &str, connections: u32) -> Vec<sea_orm::DatabaseConnection> {
    let mut dbs = Vec::new();
    for _ in 0..4 {
        dbs.push(super::connect(url, connections).await.unwrap());
    }
    let results = tokio::join!(
        super::migrate(&dbs[0]),
        super::migrate(&dbs[1]),
        super::migrate(&dbs[2]),
        super::migrate(&dbs[3]),
    );
    for result in [&results.0, &results.1, &results.2, &results.3] {
        assert!(result.is_ok(), "{results:?}");
    }
    assert_eq!(pending(&dbs[0]).await, 0);
    dbs
}

/// A view in the way of the eighth migration (named `code_send`, which its `CREATE TABLE IF NOT
/// EXISTS` skips and its `CREATE INDEX` cannot index) makes that migration fail after the
/// first seven ran: on both backends none of them may stay, so that a start after the obstacle is
/// gone applies them all.
#[tokio::test]
async fn a_failed_migration_leaves_nothing_behind_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/{}",
        dir.path().display(),
        super::scratch::SQLITE_FILE
    );
    let db = super::connect(&url, 1).await.unwrap();
    a_failed_migration_leaves_nothing_behind(&db).await;
}

#[tokio::test]
async fn a_failed_migration_leaves_nothing_behind_on_postgres() {
    let Some(scratch) = super::scratch::ScratchDatabase::create("failmig").await else {
        return;
    };
    let db = super::connect(&scratch.url, 1).await.unwrap();
    a_failed_migration_leaves_nothing_behind(&db).await;
    scratch.drop(db).await;
}

async fn a_failed_migration_leaves_nothing_behind(db: &sea_orm::DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("CREATE VIEW code_send AS SELECT 1 AS x")
        .await
        .unwrap();
    assert!(super::migrate(db).await.is_err());
    let manager = migration::SchemaManager::new(db);
    for table in ["seaql_migrations", "account", "passkey", "session", "event"] {
        assert!(!manager.has_table(table).await.unwrap(), "{table} was left");
    }
    db.execute_unprepared("DROP VIEW code_send").await.unwrap();
    super::migrate(db).await.unwrap();
    assert_eq!(pending(db).await, 0);
    assert!(manager.has_table("account").await.unwrap());
}

async fn pending(db: &sea_orm::DatabaseConnection) -> usize {
    use migration::MigratorTrait;
    migration::Migrator::get_pending_migrations(db)
        .await
        .unwrap()
        .len()
}

/// A rolling upgrade (docs/DEPLOY.md): `sesame migrate` of a newer version ran, and this
/// (older) binary restarts on the database: it starts, applies nothing, and says which
/// migrations it does not know. One that lacks its own migrations as well is refused.
#[tokio::test]
async fn an_older_sesame_starts_on_a_database_a_newer_one_migrated_on_sqlite() {
    let (_dir, _url, db) = super::scratch::sqlite().await;
    an_older_sesame_starts_on_a_database_a_newer_one_migrated(&db).await;
}

#[tokio::test]
async fn an_older_sesame_starts_on_a_database_a_newer_one_migrated_on_postgres() {
    let Some(scratch) = super::scratch::ScratchDatabase::create("newermig").await else {
        return;
    };
    let db = super::connect(&scratch.url, 1).await.unwrap();
    an_older_sesame_starts_on_a_database_a_newer_one_migrated(&db).await;
    scratch.drop(db).await;
}

async fn an_older_sesame_starts_on_a_database_a_newer_one_migrated(
    db: &sea_orm::DatabaseConnection,
) {
    use sea_orm::ConnectionTrait;
    super::migrate(db).await.unwrap();
    let newer = "m20991231_000099_from_a_newer_sesame";
    db.execute_unprepared(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{newer}', 0)"
    ))
    .await
    .unwrap();
    super::migrate(db).await.unwrap();
    let state = super::schema::state(db).await.unwrap();
    assert_eq!(
        state,
        super::schema::SchemaState {
            pending: vec![],
            newer: vec![newer.to_owned()],
        }
    );
    let status = crate::admin::migrations::status(db).await.unwrap();
    assert_eq!(status.pending, 0);
    assert!(status.migrations.iter().all(|m| m.applied));
    assert_eq!(status.migrations.last().unwrap().name, newer);

    // Not an upgrade in order: a migration of its own missing besides the newer one.
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm20261205_000011_index_event_at'",
    )
    .await
    .unwrap();
    let refused = super::migrate(db).await.unwrap_err().to_string();
    assert!(refused.contains(newer), "{refused}");
    assert!(
        refused.contains("m20261205_000011_index_event_at"),
        "{refused}"
    );
}

/// PostgreSQL: a migration whose table lock another transaction stands in the way of (here a
/// transaction that writes to `session`, against the `CREATE INDEX` of the ninth migration)
/// waits for it at most its lock wait per attempt, rolls back, and after its last attempt
/// fails, leaving the migrations pending; it does not wait, with every later statement on the
/// table queued behind it, for as long as the other transaction lasts. Tried again while the
/// other transaction ends, it applies them all.
#[tokio::test]
async fn a_migration_waits_for_a_table_lock_a_bounded_time_on_postgres() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, TransactionTrait};
    use std::time::Duration;
    let Some(scratch) = super::scratch::ScratchDatabase::create("lockwait").await else {
        return;
    };
    let db = super::connect(&scratch.url, 3).await.unwrap();
    migration::Migrator::up(&db, Some(8)).await.unwrap();
    let writer = db.begin().await.unwrap();
    writer
        .execute_unprepared("LOCK TABLE session IN ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    let wait = Duration::from_millis(200);
    let failed = tokio::time::timeout(
        Duration::from_secs(30),
        super::schema::migrate_waiting(&db, wait, 2),
    )
    .await
    .expect("the migration waited for its lock beyond its lock wait");
    let err = failed.expect_err("the migration ran although its lock was not free");
    assert!(err.to_string().contains("lock timeout"), "{err}");
    assert_eq!(
        pending(&db).await,
        migration::Migrator::migrations().len() - 8
    );

    // Tried until the lock is free: the other transaction ends while an attempt waits.
    let migrating = tokio::spawn({
        let db = db.clone();
        async move { super::schema::migrate_waiting(&db, wait, 1_000).await }
    });
    let watcher = super::connect(&scratch.url, 1).await.unwrap();
    let waits = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND query LIKE 'CREATE INDEX%' AND datname = current_database()";
    let waiting = async {
        loop {
            let row = watcher
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    waits,
                ))
                .await
                .unwrap()
                .unwrap();
            if row.try_get_by_index::<i64>(0).unwrap() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("no attempt waited for the lock");
    writer.rollback().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), migrating)
        .await
        .expect("the migration did not finish once the lock was free")
        .unwrap()
        .unwrap();
    assert_eq!(pending(&db).await, 0);
    watcher.close().await.unwrap();
    scratch.drop(db).await;
}
