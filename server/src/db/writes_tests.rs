//! Writes through the writer thread's inline SQLite connection: what they store is what
//! sea-orm reads back, a transaction that is not committed leaves nothing, a failing statement
//! leaves nothing of its transaction, and the connection has sqlx's settings (foreign keys).

#![allow(clippy::unwrap_used)]

#[path = "writes_tests_accounts.rs"]
mod accounts;
#[path = "writes_tests_constraints.rs"]
mod constraints;
#[path = "writes_tests_settings.rs"]
mod settings;

use entity::ceremony;
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::db::{self, Writer};
use crate::store;

/// A migrated database in a temporary directory, which is removed when the returned guard
/// is dropped at the end of the test.
async fn open() -> (tempfile::TempDir, DatabaseConnection, Writer) {
    let (dir, url, db) = db::scratch::sqlite().await;
    let inline = db::connect_inline_writer(&url).unwrap();
    assert!(inline.is_some(), "a SQLite file has an inline writer");
    (dir, db.clone(), Writer::new(db, inline).unwrap())
}

fn ceremony(n: u8, full: bool, expires_at: i64) -> ceremony::Model {
    ceremony::Model {
        id: Uuid::new_v4(),
        kind: "test".into(),
        account_id: full.then(Uuid::new_v4),
        session_id: full.then(Uuid::new_v4),
        username: full.then(|| format!("user{n}")),
        state: format!("{{\"n\":{n}}}"),
        code_hash: full.then(|| vec![n; 32]),
        attempts: i32::from(n),
        created_at: 1_000 + i64::from(n),
        expires_at,
    }
}

async fn stored(db: &DatabaseConnection, id: Uuid) -> Option<ceremony::Model> {
    ceremony::Entity::find_by_id(id).one(db).await.unwrap()
}

#[tokio::test]
async fn inline_writes_store_what_sea_orm_reads_and_take_gives_it_back() {
    let (_dir, db, writer) = open().await;
    let (full, bare) = (ceremony(1, true, 5_000), ceremony(2, false, 5_000));
    let rows = [full.clone(), bare.clone()];
    writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            for row in rows {
                store::ceremonies::insert(&txn, row).await?;
            }
            Ok(txn.commit().await?)
        })
        .await
        .unwrap();
    assert_eq!(stored(&db, full.id).await.as_ref(), Some(&full));
    assert_eq!(stored(&db, bare.id).await.as_ref(), Some(&bare));

    // `… RETURNING *` decoded on the inline connection, NULLs included; single use.
    let take = |id, now| {
        writer.write(move |conn| async move {
            Ok(store::ceremonies::take(&conn, id, "test", now).await?)
        })
    };
    assert_eq!(take(full.id, 4_999).await.unwrap(), Some(full.clone()));
    assert_eq!(take(full.id, 4_999).await.unwrap(), None);
    assert_eq!(take(bare.id, 5_000).await.unwrap(), None, "expired");
    assert_eq!(stored(&db, bare.id).await, Some(bare));
}

#[tokio::test]
async fn an_inline_transaction_not_committed_or_failing_leaves_nothing() {
    let (_dir, db, writer) = open().await;
    let dropped = ceremony(1, false, 5_000);
    writer
        .write({
            let row = dropped.clone();
            move |conn| async move {
                let txn = conn.begin().await?;
                store::ceremonies::insert(&txn, row).await?;
                Ok(())
            }
        })
        .await
        .unwrap();
    assert_eq!(stored(&db, dropped.id).await, None, "dropped: rolled back");

    // The second insert repeats the primary key: the first must not stay behind.
    let first = ceremony(2, true, 5_000);
    let failed = writer
        .write({
            let row = first.clone();
            move |conn| async move {
                let txn = conn.begin().await?;
                store::ceremonies::insert(&txn, row.clone()).await?;
                store::ceremonies::insert(&txn, row).await?;
                Ok(txn.commit().await?)
            }
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(stored(&db, first.id).await, None, "failed: rolled back");

    // The connection is usable afterwards (no transaction left open on it).
    let later = ceremony(3, false, 5_000);
    writer
        .write({
            let row = later.clone();
            move |conn| async move { Ok(store::ceremonies::insert(&conn, row).await?) }
        })
        .await
        .unwrap();
    assert_eq!(stored(&db, later.id).await, Some(later));
}

/// Each commit of the inline writer counts towards the checkpoint thread's next pass
/// (`super::super::checkpoint`): a statement on its own, one with `RETURNING`, a transaction;
/// a transaction rolled back and a delete that removed nothing do not. The [`EVERY`]-th commit
/// wakes it.
#[tokio::test]
async fn the_writers_commits_wake_the_checkpoint_thread() {
    use crate::db::checkpoint::EVERY;
    use crate::db::writes::WriteConn;

    let (_dir, url, _db) = db::scratch::sqlite().await;
    let inline = std::sync::Arc::new(db::connect_inline_writer(&url).unwrap().unwrap());
    let conn = WriteConn::Inline(inline.clone());
    let count = || inline.checkpoint.commits();

    let txn = conn.begin().await.unwrap();
    store::ceremonies::insert(&txn, ceremony(1, false, 5_000))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(count(), 0, "rolled back");

    let first = ceremony(2, false, 5_000);
    store::ceremonies::insert(&conn, first.clone())
        .await
        .unwrap();
    assert_eq!(count(), 1, "an insert on its own");
    let txn = conn.begin().await.unwrap();
    for n in 3..5 {
        store::ceremonies::insert(&txn, ceremony(n, true, 5_000))
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    assert_eq!(count(), 2, "a transaction is one commit");
    let missing = store::ceremonies::take(&conn, Uuid::new_v4(), "test", 1_000).await;
    assert_eq!(missing.unwrap(), None);
    assert_eq!(count(), 2, "a delete that removed nothing");
    let taken = store::ceremonies::take(&conn, first.id, "test", 1_000).await;
    assert_eq!(taken.unwrap().map(|c| c.id), Some(first.id));
    assert_eq!(count(), 3, "a delete … RETURNING on its own");

    while count() < EVERY {
        store::ceremonies::insert(&conn, ceremony(9, false, 5_000))
            .await
            .unwrap();
    }
    assert!(
        inline
            .checkpoint
            .wait_for_passes(1, std::time::Duration::from_secs(10)),
        "the {EVERY}th commit woke the checkpoint thread"
    );
}
