//! Writes through the pinned PostgreSQL connections: what they store is what sea-orm reads
//! back, a transaction that is not committed leaves nothing and leaves its connection outside
//! any transaction, errors read as sea-orm's, a broken connection is replaced, and a write
//! that finds every pinned connection busy goes through the pool. Runs when
//! `SESAME_TEST_POSTGRES_URL` is set (as in CI), on a database of its own.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use entity::ceremony;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, Statement};
use uuid::Uuid;

use crate::db::{self, Exec, WriteConn, Writer};
use crate::error::ApiError;
use crate::store;

fn ceremony(n: u8) -> ceremony::Model {
    ceremony::Model {
        id: Uuid::new_v4(),
        kind: "test".into(),
        account_id: None,
        session_id: None,
        username: n.is_multiple_of(2).then(|| format!("user{n}")),
        state: format!("{{\"n\":{n}}}"),
        code_hash: n.is_multiple_of(2).then(|| vec![n; 32]),
        attempts: i32::from(n),
        created_at: 1_000,
        expires_at: 5_000,
    }
}

async fn stored(db: &DatabaseConnection, id: Uuid) -> Option<ceremony::Model> {
    ceremony::Entity::find_by_id(id).one(db).await.unwrap()
}

#[derive(Debug, FromQueryResult)]
struct Pid {
    pid: i32,
}

fn no_inline_decode(_: &rusqlite::Row<'_>, _: &str) -> rusqlite::Result<Pid> {
    Err(rusqlite::Error::InvalidQuery)
}

/// The backend process of the connection a write runs on.
async fn backend_pid(conn: &WriteConn) -> Result<i32, ApiError> {
    let stmt = Statement::from_string(conn.backend(), "SELECT pg_backend_pid() AS pid");
    Ok(conn.fetch(stmt, no_inline_decode).await?[0].pid)
}

fn pinned(conn: &WriteConn) -> bool {
    matches!(conn, WriteConn::Pinned(_))
}

#[tokio::test]
async fn pinned_writes_commit_roll_back_recover_and_overflow_to_the_pool() {
    let Ok(admin_url) = std::env::var("SESAME_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: SESAME_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("sesame_rows_{}", Uuid::new_v4().simple());
    let admin = db::connect(&admin_url, 1).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let mut url = webauthn_rs::prelude::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let db = db::connect(url.as_str(), 8).await.unwrap();
    db::migrate(&db).await.unwrap();
    let slots = db::PinnedWrites::new(&db, 8, Arc::default());
    let writer = Arc::new(Writer::new(db.clone(), None, slots).unwrap());

    // Committed: stored, and `… RETURNING *` decodes through the pinned connection, once.
    let (a, b) = (ceremony(1), ceremony(2));
    let rows = [a.clone(), b.clone()];
    let was_pinned = writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            for row in rows {
                store::ceremonies::insert(&txn, row).await?;
            }
            txn.commit().await?;
            Ok(pinned(&conn))
        })
        .await
        .unwrap();
    assert!(
        was_pinned,
        "a pool of 8 gives the writes pinned connections"
    );
    assert_eq!(stored(&db, a.id).await.as_ref(), Some(&a));
    let take = |id| {
        writer.write(move |conn| async move {
            Ok(store::ceremonies::take(&conn, id, "test", 4_000).await?)
        })
    };
    assert_eq!(take(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(take(b.id).await.unwrap(), None);

    // Not committed (an error half way): nothing stored, and no later write on either pinned
    // connection runs inside the abandoned transaction (it would see the row and take it).
    let c = ceremony(3);
    let row = c.clone();
    let failed = writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            store::ceremonies::insert(&txn, row).await?;
            Err::<(), _>(ApiError::InvalidCeremony)
        })
        .await;
    assert!(matches!(failed, Err(ApiError::InvalidCeremony)));
    for _ in 0..4 {
        assert_eq!(take(c.id).await.unwrap(), None);
    }
    assert_eq!(stored(&db, c.id).await, None);

    // A unique violation reads as sea-orm's, on its own and inside a transaction; the
    // connection stays usable, and the transaction's earlier insert is rolled back.
    let (dup, d) = (a.clone(), ceremony(4));
    let d_id = d.id;
    let errors = writer
        .write(move |conn| async move {
            let alone = store::ceremonies::insert(&conn, dup.clone())
                .await
                .unwrap_err();
            let txn = conn.begin().await?;
            store::ceremonies::insert(&txn, d).await?;
            let inside = store::ceremonies::insert(&txn, dup).await.unwrap_err();
            drop(txn);
            Ok((
                store::is_unique_violation(&alone),
                store::is_unique_violation(&inside),
            ))
        })
        .await
        .unwrap();
    assert_eq!(errors, (true, true));
    assert_eq!(stored(&db, a.id).await, Some(a.clone()));
    assert_eq!(stored(&db, d_id).await, None);

    // A connection that breaks (its backend is terminated) is closed, not reused: the next
    // writes on both pinned connections succeed.
    let broken = writer
        .write(|conn| async move {
            let kill = Statement::from_string(
                conn.backend(),
                "SELECT pg_terminate_backend(pg_backend_pid())",
            );
            Ok(conn.exec_statement(kill).await.is_err())
        })
        .await
        .unwrap();
    assert!(broken, "the statement on the terminated connection failed");
    for n in 10..14 {
        let row = ceremony(n);
        let id = row.id;
        writer
            .write(move |conn| async move { Ok(store::ceremonies::insert(&conn, row).await?) })
            .await
            .unwrap();
        assert!(stored(&db, id).await.is_some());
    }

    // Every pinned connection leased (writes inside writes): the next write uses the pool
    // instead of waiting.
    let inner = writer.clone();
    let kinds = writer
        .write(move |first| async move {
            let inner2 = inner.clone();
            let (second, third) = inner
                .write(move |second| async move {
                    let third = inner2
                        .write(|third| async move { Ok(pinned(&third)) })
                        .await?;
                    Ok((pinned(&second), third))
                })
                .await?;
            Ok((pinned(&first), second, third))
        })
        .await
        .unwrap();
    assert_eq!(kinds, (true, true, false));

    // Both pinned connections' backends terminated from outside while idle: the next
    // transactions begin again on fresh connections instead of failing.
    let inner = writer.clone();
    let pids = writer
        .write(move |first| async move {
            let second = inner
                .write(|second| async move { backend_pid(&second).await })
                .await?;
            Ok([backend_pid(&first).await?, second])
        })
        .await
        .unwrap();
    for pid in pids {
        let kill = format!("SELECT pg_terminate_backend({pid})");
        db.execute_unprepared(&kill).await.unwrap();
    }
    for n in 20..24 {
        let row = ceremony(n);
        let id = row.id;
        writer
            .write(move |conn| async move {
                let txn = conn.begin().await?;
                store::ceremonies::insert(&txn, row).await?;
                Ok(txn.commit().await?)
            })
            .await
            .unwrap();
        assert!(stored(&db, id).await.is_some());
    }

    writer.release().await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name}"))
        .await
        .unwrap();
}
