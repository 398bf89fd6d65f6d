//! The once-a-minute clean-up (`startup::cleanup_loop`) reads only what it deletes: each of its
//! deletes goes through an index, on both databases, however many rows the tables hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Statement};

use super::{ceremonies, code_sends, sessions};

const NOW: i64 = 1_780_000_000_000;
const IDLE_MS: i64 = 7 * 24 * 3_600_000;

/// Each clean-up delete, named by its table, as `backend` writes it.
fn deletes(backend: DbBackend) -> [(&'static str, Statement); 3] {
    [
        ("ceremony", ceremonies::expired(NOW).build(backend)),
        ("session", sessions::expired(NOW, IDLE_MS).build(backend)),
        ("code_send", code_sends::sent_before(NOW).build(backend)),
    ]
}

/// `EXPLAIN` (`explain`: the keywords) in front of `statement`; the plan's lines.
async fn plan<C: ConnectionTrait>(
    db: &C,
    explain: &str,
    column: &str,
    statement: Statement,
) -> Vec<String> {
    let values = statement.values.map(|v| v.0).unwrap_or_default();
    let sql = format!("{explain} {}", statement.sql);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect()
}

/// SQLite's planner, without statistics, uses an index wherever one applies.
#[tokio::test]
async fn on_sqlite_the_clean_up_searches_indexes_and_scans_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.db", dir.path().display());
    let db = crate::db::connect(&url, 1).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    for (table, delete) in deletes(DbBackend::Sqlite) {
        let plan = plan(&db, "EXPLAIN QUERY PLAN", "detail", delete).await;
        assert!(
            plan.iter().all(|line| !line.starts_with("SCAN")),
            "{table}: {plan:?}"
        );
        assert!(
            plan.iter().any(|line| line.contains("USING INDEX")),
            "{table}: {plan:?}"
        );
    }
}

/// PostgreSQL would scan tables this small whatever indexes they have; with sequential scans
/// priced out (`enable_seqscan = off`, for this transaction only) it takes an index where there
/// is one and still scans where there is none. Runs when `SESAME_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn on_postgres_the_clean_up_can_use_an_index_for_each_delete() {
    use sea_orm::TransactionTrait;
    let Some(scratch) = crate::db::scratch::ScratchDatabase::create("cleanup").await else {
        return;
    };
    let db: DatabaseConnection = crate::db::connect(&scratch.url, 2).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL enable_seqscan = off")
        .await
        .unwrap();
    for (table, delete) in deletes(DbBackend::Postgres) {
        let plan = plan(&txn, "EXPLAIN", "QUERY PLAN", delete).await;
        assert!(
            plan.iter().all(|line| !line.contains("Seq Scan")),
            "{table}: {plan:?}"
        );
        assert!(
            plan.iter().any(|line| line.contains("Index")),
            "{table}: {plan:?}"
        );
    }
    txn.rollback().await.unwrap();
    scratch.drop(db).await;
}

/// The indexes come with migration `m20261204_000009_index_clean_up`, which can be rolled back
/// and applied again (SQLite; the clean-up then scans `session` again, and not after).
#[tokio::test]
async fn the_clean_up_indexes_migration_rolls_back_and_applies_again() {
    use migration::{Migrator, MigratorTrait};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.db", dir.path().display());
    let db = crate::db::connect(&url, 1).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let session = || sessions::expired(NOW, IDLE_MS).build(DbBackend::Sqlite);
    let scans = |plan: Vec<String>| plan.iter().any(|line| line.starts_with("SCAN"));
    Migrator::down(&db, Some(1)).await.unwrap();
    assert!(scans(
        plan(&db, "EXPLAIN QUERY PLAN", "detail", session()).await
    ));
    Migrator::up(&db, None).await.unwrap();
    assert!(!scans(
        plan(&db, "EXPLAIN QUERY PLAN", "detail", session()).await
    ));
}
