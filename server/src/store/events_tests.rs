//! The new-device check ([`super::events::has_login_from`]) finds a `login` from the same IP
//! address and user agent among the account's most recent events only, on every read path:
//! SQLite's inline readers, the pool, and PostgreSQL when `SESAME_TEST_POSTGRES_URL` is set;
//! and the retention clean-up ([`super::events::delete_older_than`]) on both databases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{accounts, events};
use crate::db::{InlineReads, ReadPool, Reads};
use crate::extract::ClientInfo;

fn device(ip: Option<&str>, user_agent: Option<&str>) -> ClientInfo {
    ClientInfo {
        ip: ip.map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
    }
}

/// Two accounts; `alice`'s history, oldest first: a log-in from `x`, a log-in from a client
/// that sent neither IP nor user agent, a passkey added from `w` (not a log-in), and three
/// more events from `y`. `bob` logged in from `z`. Returns alice's id, then bob's.
async fn history(db: &DatabaseConnection) -> (Uuid, Uuid) {
    let alice = accounts::insert(
        db,
        accounts::new_account("alice", "Alice", Uuid::new_v4(), 1),
    )
    .await
    .unwrap();
    let bob = accounts::insert(db, accounts::new_account("bob", "Bob", Uuid::new_v4(), 1))
        .await
        .unwrap();
    let (x, w, y) = (x(), w(), y());
    let empty = json();
    let alices: [(&str, &ClientInfo, i64); 6] = [
        ("login", &x, 10),
        ("login", &device(None, None), 20),
        ("passkey_added", &w, 30),
        ("passkey_renamed", &y, 40),
        ("login_failed", &y, 50),
        ("session_revoked", &y, 60),
    ];
    for (kind, client, at) in alices {
        events::insert(db, alice.id, kind, client, empty.clone(), at)
            .await
            .unwrap();
    }
    events::insert(db, bob.id, "login", &z(), empty, 70)
        .await
        .unwrap();
    (alice.id, bob.id)
}

fn x() -> ClientInfo {
    device(Some("192.0.2.1"), Some("Firefox"))
}
fn w() -> ClientInfo {
    device(Some("192.0.2.9"), Some("Safari"))
}
fn y() -> ClientInfo {
    device(Some("192.0.2.5"), Some("Chrome"))
}
fn z() -> ClientInfo {
    device(Some("198.51.100.7"), Some("Edge"))
}
fn json() -> serde_json::Value {
    serde_json::json!({})
}

/// What each read path must answer for [`history`].
async fn answers_as_expected(reads: Reads<'_>, alice: Uuid, bob: Uuid) {
    let seen = |client: ClientInfo, account: Uuid, before: i64, window: u64| async move {
        events::has_login_from(reads, account, &client, before, window)
            .await
            .unwrap()
    };
    // `x` is alice's 6th most recent event before 100.
    assert!(seen(x(), alice, 100, 6).await, "in the window");
    assert!(!seen(x(), alice, 100, 5).await, "one past the window");
    assert!(
        seen(x(), alice, 100, events::NEW_DEVICE_WINDOW).await,
        "the server's window"
    );
    // The window counts back from `before`, which is not counted itself.
    assert!(seen(x(), alice, 30, 2).await);
    assert!(!seen(x(), alice, 10, 100).await, "strictly before");
    // An absent IP and user agent match only absent ones.
    assert!(seen(device(None, None), alice, 100, 5).await);
    assert!(!seen(device(Some("192.0.2.1"), None), alice, 100, 100).await);
    assert!(!seen(device(None, Some("Firefox")), alice, 100, 100).await);
    // Only `login` events count, and only the account's own.
    assert!(!seen(w(), alice, 100, 100).await, "not a log-in");
    assert!(
        !seen(y(), alice, 100, 100).await,
        "a failed log-in is not one"
    );
    assert!(!seen(z(), alice, 100, 100).await, "bob's device");
    assert!(seen(z(), bob, 100, 1).await);
    assert!(!seen(x(), bob, 100, 100).await);
}

/// The retention clean-up deletes events older than the cutoff, of every account, at most a
/// batch at a time, and nothing newer.
async fn retention_deletes_the_oldest_in_batches(db: &DatabaseConnection) {
    use entity::event;
    use sea_orm::{EntityTrait, QueryOrder};
    let left = || async {
        event::Entity::find()
            .order_by_asc(event::Column::At)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.at)
            .collect::<Vec<_>>()
    };
    assert_eq!(left().await, [10, 20, 30, 40, 50, 60, 70]);
    assert_eq!(events::delete_older_than(db, 45, 3).await.unwrap(), 3);
    assert_eq!(events::delete_older_than(db, 45, 3).await.unwrap(), 1);
    assert_eq!(events::delete_older_than(db, 45, 3).await.unwrap(), 0);
    assert_eq!(left().await, [50, 60, 70]);
    assert_eq!(events::delete_older_than(db, 71, 100).await.unwrap(), 3);
    assert!(left().await.is_empty());
}

#[tokio::test]
async fn on_sqlite_the_window_and_the_retention() {
    let (dir, _url, db) = crate::db::scratch::sqlite().await;
    let (alice, bob) = history(&db).await;
    let pool = ReadPool::new(db.clone());
    answers_as_expected(Reads::pooled(&pool), alice, bob).await;
    let inline = InlineReads::open(dir.path().join(crate::db::scratch::SQLITE_FILE)).unwrap();
    let reads = Reads {
        pool: &pool,
        inline: Some(&inline),
        pinned: None,
    };
    answers_as_expected(reads, alice, bob).await;
    retention_deletes_the_oldest_in_batches(&db).await;
}

#[tokio::test]
async fn on_postgres_the_window_and_the_retention() {
    let Some(scratch) = crate::db::scratch::ScratchDatabase::create("events").await else {
        return;
    };
    let db: DatabaseConnection = crate::db::connect(&scratch.url, 2).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let (alice, bob) = history(&db).await;
    let pool = ReadPool::new(db.clone());
    answers_as_expected(Reads::pooled(&pool), alice, bob).await;
    retention_deletes_the_oldest_in_batches(&db).await;
    scratch.drop(db).await;
}
