//! Statements that would read a whole table (or every live ceremony) without their index read
//! only what they need, on both databases, however many rows the tables hold: the once-a-minute
//! clean-up's deletes (`startup::cleanup::cleanup_loop`) and the look-up of a recovery link by its
//! token's hash (`POST /api/v1/recover/start`, which needs no session); the new-device
//! check after each log-in, which reads the account's most recent events only; and the
//! session limit's delete in each log-in, which reads the account's sessions only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Statement};

use super::{ceremonies, code_sends, events, sessions};

const NOW: i64 = 1_780_000_000_000;
const IDLE_MS: i64 = 7 * 24 * 3_600_000;

/// Each statement as `backend` writes it, with the index it must go through: the clean-up's
/// deletes (the events' retention among them), the link look-up and the new-device check.
fn statements(backend: DbBackend) -> [(&'static str, Statement); 7] {
    let link = crate::admin::queries::by_hash("recovery_link", vec![7; 32], NOW);
    let client = crate::extract::ClientInfo {
        ip: Some("192.0.2.1".into()),
        user_agent: None,
    };
    let device = events::login_from(uuid::Uuid::nil(), &client, NOW, 1_000);
    [
        (
            "idx_ceremony_expires",
            ceremonies::expired(backend, NOW, super::CLEAN_UP_BATCH).build(backend),
        ),
        (
            "idx_session_last_seen",
            sessions::expired(backend, NOW, IDLE_MS, super::CLEAN_UP_BATCH).build(backend),
        ),
        (
            "idx_code_send_sent_at",
            code_sends::sent_before(backend, NOW, super::CLEAN_UP_BATCH).build(backend),
        ),
        ("idx_ceremony_code_hash", link.build(backend)),
        ("idx_event_account_at", backend.build(&device)),
        (
            "idx_event_at",
            events::older_than(backend, NOW, super::CLEAN_UP_BATCH).build(backend),
        ),
        (
            "idx_session_account",
            sessions::beyond_limit(backend, uuid::Uuid::nil(), uuid::Uuid::max(), 100)
                .build(backend),
        ),
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

/// `plan` names `index` and no line of it contains `scan` (how the database says it reads a
/// whole table), except SQLite's pass over the new-device check's subquery `recent`, which
/// holds at most its `LIMIT` of rows.
fn assert_goes_through(index: &str, plan: &[String], scan: &str) {
    assert!(
        plan.iter()
            .all(|line| !line.contains(scan) || line == "SCAN recent"),
        "{index}: {plan:?}"
    );
    assert!(
        plan.iter().any(|line| line.contains(index)),
        "{index}: {plan:?}"
    );
}

/// SQLite's planner, without statistics, uses an index wherever one applies.
#[tokio::test]
async fn on_sqlite_each_statement_searches_its_index_and_scans_no_table() {
    let (_dir, _url, db) = crate::db::scratch::sqlite().await;
    for (index, statement) in statements(DbBackend::Sqlite) {
        let plan = plan(&db, "EXPLAIN QUERY PLAN", "detail", statement).await;
        assert_goes_through(index, &plan, "SCAN ");
    }
}

/// PostgreSQL would scan tables this small whatever indexes they have; with sequential scans
/// priced out (`enable_seqscan = off`, for this transaction only) it takes the index where it
/// can use one, and still scans, or takes another, where it cannot. Runs when
/// `SESAME_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn on_postgres_each_statement_can_use_its_index() {
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
    for (index, statement) in statements(DbBackend::Postgres) {
        let plan = plan(&txn, "EXPLAIN", "QUERY PLAN", statement).await;
        assert_goes_through(index, &plan, "Seq Scan");
    }
    txn.rollback().await.unwrap();
    scratch.drop(db).await;
}

/// The indexes come with migrations `m20261204_000009_index_clean_up`, `…000010…` and
/// `…000011…`, which can be rolled back (with the later `…000012_create_setting` and
/// `…000013_create_devices_forgotten`) and applied
/// again (SQLite; the clean-up then scans `session` and `event` again, and not after).
#[tokio::test]
async fn the_index_migrations_roll_back_and_apply_again() {
    use migration::{Migrator, MigratorTrait};
    let (_dir, _url, db) = crate::db::scratch::sqlite().await;
    let sqlite = DbBackend::Sqlite;
    let session = || sessions::expired(sqlite, NOW, IDLE_MS, super::CLEAN_UP_BATCH).build(sqlite);
    let event = || events::older_than(sqlite, NOW, 10).build(sqlite);
    let scans = |plan: Vec<String>| plan.iter().any(|line| line.starts_with("SCAN"));
    Migrator::down(&db, Some(5)).await.unwrap();
    for statement in [session(), event()] {
        assert!(scans(
            plan(&db, "EXPLAIN QUERY PLAN", "detail", statement).await
        ));
    }
    Migrator::up(&db, None).await.unwrap();
    for statement in [session(), event()] {
        assert!(!scans(
            plan(&db, "EXPLAIN QUERY PLAN", "detail", statement).await
        ));
    }
}

/// Each clean-up statement deletes at most a batch ([`super::CLEAN_UP_BATCH`]), the expired
/// rows only: a backlog goes over several writes (`startup::cleanup`), never in one.
#[tokio::test]
async fn the_clean_up_deletes_a_batch_at_a_time() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (_dir, _url, db) = crate::db::scratch::sqlite().await;
    let batch = super::CLEAN_UP_BATCH;
    let expired = (0..batch + 7).map(|_| {
        let row = crate::service::new_ceremony("login_passkey", "{}".into(), NOW - 10, 5);
        entity::ceremony::ActiveModel::from(row)
    });
    entity::ceremony::Entity::insert_many(expired)
        .exec(&db)
        .await
        .unwrap();
    let live = crate::service::new_ceremony("login_passkey", "{}".into(), NOW, 60_000);
    entity::ceremony::Entity::insert(entity::ceremony::ActiveModel::from(live))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(ceremonies::delete_expired(&db, NOW).await.unwrap(), batch);
    assert_eq!(ceremonies::delete_expired(&db, NOW).await.unwrap(), 7);
    assert_eq!(ceremonies::delete_expired(&db, NOW).await.unwrap(), 0);
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        1
    );
}

/// On PostgreSQL the clean-up deletes what no one holds and leaves rows another transaction has
/// locked (here `FOR KEY SHARE`, as an account change holds its session) to a later run, at
/// once: it never waits for a row lock, so two instances' clean-ups cannot deadlock each other
/// and none waits behind an account change ([`super::delete_batch`]). Runs when
/// `SESAME_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn on_postgres_the_clean_up_skips_rows_another_transaction_holds() {
    use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};
    let Some(scratch) = crate::db::scratch::ScratchDatabase::create("skiplocked").await else {
        return;
    };
    let db: DatabaseConnection = crate::db::connect(&scratch.url, 3).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let rows: Vec<_> = (0..3)
        .map(|_| crate::service::new_ceremony("login_passkey", "{}".into(), NOW - 10, 5))
        .collect();
    let held = rows[1].id;
    entity::ceremony::Entity::insert_many(
        rows.into_iter().map(entity::ceremony::ActiveModel::from),
    )
    .exec(&db)
    .await
    .unwrap();
    let holder = db.begin().await.unwrap();
    holder
        .execute_unprepared(&format!(
            "SELECT id FROM ceremony WHERE id = '{held}' FOR KEY SHARE"
        ))
        .await
        .unwrap();
    // Before `SKIP LOCKED` this waited until the holder ended.
    let deleted = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ceremonies::delete_expired(&db, NOW),
    )
    .await
    .expect("the clean-up waited for a row another transaction holds")
    .unwrap();
    assert_eq!(deleted, 2);
    holder.rollback().await.unwrap();
    assert_eq!(ceremonies::delete_expired(&db, NOW).await.unwrap(), 1);
    assert_eq!(
        entity::ceremony::Entity::find().count(&db).await.unwrap(),
        0
    );
    scratch.drop(db).await;
}

/// A write that returns its row, prepared on a connection (sqlx keeps its statements), still
/// runs there after a migration added a column to the table: the rows are returned by named
/// columns, not `RETURNING *`, whose cached plan PostgreSQL refuses once the table's columns
/// change ("cached plan must not change result type"; an instance of the version before would
/// answer 500 during a rolling upgrade). Runs when `SESAME_TEST_POSTGRES_URL` is set.
#[tokio::test]
async fn on_postgres_returned_rows_survive_a_column_added_meanwhile() {
    use sea_orm::TransactionTrait;
    let Some(scratch) = crate::db::scratch::ScratchDatabase::create("returning").await else {
        return;
    };
    // One connection, so each statement runs where it was prepared before.
    let db: DatabaseConnection = crate::db::connect(&scratch.url, 1).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let ada = super::accounts::new_account("ada", "Ada", uuid::Uuid::new_v4(), 1);
    super::accounts::insert(&db, ada.clone()).await.unwrap();
    let charge = || async {
        let txn = db.begin().await.unwrap();
        let count = super::accounts::charge_try(&txn, ada.id, NOW, 100, false, |_| None).await;
        txn.commit().await.unwrap();
        count
    };
    assert_eq!(charge().await.unwrap(), Some(1));
    db.execute_unprepared("ALTER TABLE account ADD COLUMN added_later integer NOT NULL DEFAULT 0")
        .await
        .unwrap();
    assert_eq!(charge().await.unwrap(), Some(2));
    scratch.drop(db).await;
}
