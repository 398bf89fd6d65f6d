//! Writes through the writer thread's inline SQLite connection: what they store is what
//! sea-orm reads back, a transaction that is not committed leaves nothing, a failing statement
//! leaves nothing of its transaction, and the connection has sqlx's settings (foreign keys).

#![allow(clippy::unwrap_used)]

use entity::{ceremony, session};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::db::{self, Writer};
use crate::error::ApiError;
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

#[tokio::test]
async fn the_inline_connection_enforces_foreign_keys_and_counts_changed_rows() {
    let (_dir, db, writer) = open().await;
    let orphan = session::Model {
        id: Uuid::new_v4(),
        account_id: Uuid::new_v4(),
        token_hash: vec![7; 32],
        created_at: 1,
        last_seen_at: 1,
        authenticated_at: 1,
        expires_at: 2,
        ip: None,
        user_agent: None,
        methods: "passkey".into(),
    };
    let refused = writer
        .write({
            let row = orphan.clone();
            move |conn| async move { Ok(store::sessions::insert(&conn, row).await?) }
        })
        .await;
    assert!(matches!(refused, Err(ApiError::Internal(_))), "{refused:?}");
    assert_eq!(
        session::Entity::find_by_id(orphan.id)
            .one(&db)
            .await
            .unwrap(),
        None
    );

    // With its account the same row is stored; conditional writes report whether they matched
    // (the log-in relies on it).
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let owned = session::Model {
        account_id: ada.id,
        ..orphan
    };
    let delete = |account_id, id| {
        writer.write(move |conn| async move {
            Ok(store::sessions::delete(&conn, account_id, id).await?)
        })
    };
    writer
        .write({
            let row = owned.clone();
            move |conn| async move { Ok(store::sessions::insert(&conn, row).await?) }
        })
        .await
        .unwrap();
    assert_eq!(
        session::Entity::find_by_id(owned.id)
            .one(&db)
            .await
            .unwrap(),
        Some(owned.clone())
    );
    assert!(
        !delete(Uuid::new_v4(), owned.id).await.unwrap(),
        "other account"
    );
    assert!(delete(ada.id, owned.id).await.unwrap());
    assert!(!delete(ada.id, owned.id).await.unwrap(), "already gone");
}

/// A unique violation on the inline connection is told apart like sqlx's (the sign-up turns it
/// into 409 `username_taken`), and the transaction it happened in leaves nothing.
#[tokio::test]
async fn an_inline_unique_violation_is_recognised() {
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada).await.unwrap();
    let ceremony_first = ceremony(1, false, 5_000);
    let taken = writer
        .write({
            let row = ceremony_first.clone();
            move |conn| async move {
                let txn = conn.begin().await?;
                store::ceremonies::insert(&txn, row).await?;
                let again = store::accounts::new_account("ada", "Ada 2", Uuid::new_v4(), 2);
                store::accounts::insert(&txn, again).await.map_err(|e| {
                    if store::is_unique_violation(&e) {
                        ApiError::UsernameTaken
                    } else {
                        e.into()
                    }
                })?;
                Ok(txn.commit().await?)
            }
        })
        .await;
    assert!(matches!(taken, Err(ApiError::UsernameTaken)), "{taken:?}");
    assert_eq!(stored(&db, ceremony_first.id).await, None);
}

/// The lock-out count and the resend limit's records through the inline connection: each
/// failure returns its own count (`UPDATE … RETURNING`, decoded inline), and the sent-code
/// look-up gives what sea-orm's gives.
#[tokio::test]
async fn failure_counts_and_sent_codes_on_the_inline_connection() {
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let fail = |id| {
        writer.write(move |conn| async move {
            let txn = conn.begin().await?;
            let count =
                store::accounts::add_failure(&txn, id, |n| (n >= 3).then_some(i64::from(n)))
                    .await?;
            txn.commit().await?;
            Ok(count)
        })
    };
    for expected in 1..=4 {
        assert_eq!(fail(ada.id).await.unwrap(), expected);
    }
    assert_eq!(fail(Uuid::new_v4()).await.unwrap(), 0, "no such account");
    let stored = store::accounts::find_by_id(&db, ada.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.failed_attempts, stored.locked_until), (4, Some(4)));

    for (target, sent_at) in [("a", 10), ("a", 30), ("a", 20), ("b", 40)] {
        writer
            .write(move |conn| async move {
                Ok(store::code_sends::record(&conn, target, sent_at).await?)
            })
            .await
            .unwrap();
    }
    let inline = writer
        .write(|conn| async move { Ok(store::code_sends::since(&conn, "a", 15).await?) })
        .await
        .unwrap();
    assert_eq!(inline, vec![20, 30]);
    assert_eq!(
        store::code_sends::since(&db, "a", 15).await.unwrap(),
        inline
    );
    let removed = writer
        .write(|conn| async move { Ok(store::code_sends::delete_before(&conn, 30).await?) })
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(
        store::code_sends::since(&db, "a", 0).await.unwrap(),
        vec![30]
    );
}

/// A contact upserted through the inline connection (looked up with `store::rows::contact`),
/// and a recovery-code set replaced there, read back the same through sea-orm.
#[tokio::test]
async fn contacts_and_recovery_sets_on_the_inline_connection() {
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let upsert = |now| {
        writer.write(move |conn| async move {
            let txn = conn.begin().await?;
            let done =
                store::contacts::upsert_verified(&txn, ada.id, "email", "ada@example.com", now)
                    .await?;
            txn.commit().await?;
            Ok(done)
        })
    };
    let (added, fresh) = upsert(10).await.unwrap();
    assert!(fresh);
    let (refreshed, fresh) = upsert(20).await.unwrap();
    assert!(!fresh, "the same address again is a refresh");
    assert_eq!((refreshed.id, refreshed.verified_at), (added.id, 20));
    assert_eq!(
        store::contacts::list_for_account(&db, ada.id)
            .await
            .unwrap(),
        vec![refreshed]
    );

    for set in [vec![1u8, 2, 3], vec![4, 5]] {
        let rows: Vec<(Vec<u8>, String)> =
            set.iter().map(|n| (vec![*n; 4], n.to_string())).collect();
        writer
            .write(move |conn| async move {
                Ok(store::recovery_codes::replace_set(&conn, ada.id, rows, 30).await?)
            })
            .await
            .unwrap();
    }
    let mut hashes: Vec<String> = entity::recovery_code::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.code_hash)
        .collect();
    hashes.sort();
    assert_eq!(hashes, ["4", "5"], "the new set replaced the old one");
}

type Totp = (Option<Vec<u8>>, Option<i64>, Option<i64>);

fn totp_of(account: &entity::account::Model) -> Totp {
    let (secret, at, step) = (
        &account.totp_secret,
        account.totp_enabled_at,
        account.totp_last_step,
    );
    (secret.clone(), at, step)
}

/// The account settings' writes through the inline connection: ways in counted as sea-orm
/// counts them (inside the removal's transaction), passkey rename and removal returning the
/// row (and nothing for another account's id), contact removal, TOTP on and off (off only
/// once), and the password hash.
#[tokio::test]
async fn account_settings_on_the_inline_connection() {
    use crate::service::ways_in;
    use entity::passkey;
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let key = |n: u8| passkey::Model {
        id: Uuid::new_v4(),
        account_id: ada.id,
        credential_id: vec![n; 16],
        data: "{}".into(),
        label: format!("key {n}"),
        aaguid: None,
        backup_eligible: true,
        backup_state: false,
        sign_count: 0,
        created_at: i64::from(n),
        last_used_at: None,
    };
    let (one, two) = (key(1), key(2));
    for model in [one.clone(), two.clone()] {
        store::passkeys::insert(&db, model).await.unwrap();
    }
    let (contact, _) = store::contacts::upsert_verified(&db, ada.id, "email", "ada@example.com", 5)
        .await
        .unwrap();
    let counted = |id| {
        writer.write(move |conn| async move {
            let txn = ways_in::begin_removal(&conn, id).await?;
            Ok(ways_in::count(&txn, id).await?)
        })
    };
    let both = counted(ada.id).await.unwrap();
    assert_eq!(both, ways_in::count(&db, ada.id).await.unwrap());
    assert_eq!(
        (both.passkeys, both.verified_contacts, both.totp),
        (2, 1, false)
    );

    let renamed = writer
        .write(move |conn| async move {
            Ok(store::passkeys::rename(&conn, ada.id, one.id, "laptop").await?)
        })
        .await
        .unwrap()
        .unwrap();
    let read = passkey::Entity::find_by_id(one.id).one(&db).await.unwrap();
    assert_eq!(Some(&renamed), read.as_ref());
    assert_eq!(renamed.label, "laptop");
    let (other, id) = (Uuid::new_v4(), two.id);
    let foreign = writer
        .write(move |conn| async move {
            let renamed = store::passkeys::rename(&conn, other, id, "x").await?;
            let removed = store::passkeys::delete_for_account(&conn, other, id).await?;
            Ok((renamed, removed))
        })
        .await
        .unwrap();
    assert_eq!(
        foreign,
        (None, None),
        "another account's passkey is not found"
    );

    let removed = writer
        .write(move |conn| async move {
            let txn = ways_in::begin_removal(&conn, ada.id).await?;
            let passkey = store::passkeys::delete_for_account(&txn, ada.id, id).await?;
            let contact = store::contacts::delete(&txn, ada.id, contact.id).await?;
            let set = store::accounts::set_totp(&txn, ada.id, vec![7; 8], 40, 3).await?;
            let left = ways_in::ensure_one_left(&txn, ada.id).await?;
            txn.commit().await?;
            Ok((passkey, contact.map(|c| c.address), set, left))
        })
        .await
        .unwrap();
    assert_eq!(removed.0, Some(two));
    assert_eq!(removed.1.as_deref(), Some("ada@example.com"));
    assert!(removed.2);
    assert_eq!((removed.3.passkeys, removed.3.verified_contacts), (1, 0));
    assert!(removed.3.totp);
    let stored = store::accounts::find_by_id(&db, ada.id)
        .await
        .unwrap()
        .unwrap();
    let totp = totp_of(&stored);
    assert_eq!(totp, (Some(vec![7; 8]), Some(40), Some(3)));

    let clear = || {
        writer.write(move |conn| async move {
            let cleared = store::accounts::clear_totp(&conn, ada.id).await?;
            let password = store::accounts::set_password_hash(&conn, ada.id, Some("phc".into()));
            Ok((cleared, password.await?))
        })
    };
    assert_eq!(clear().await.unwrap(), (true, true));
    assert_eq!(
        clear().await.unwrap(),
        (false, true),
        "TOTP was already off"
    );
    let stored = store::accounts::find_by_id(&db, ada.id)
        .await
        .unwrap()
        .unwrap();
    let totp = totp_of(&stored);
    assert_eq!(totp, (None, None, None));
    assert_eq!(stored.password_hash.as_deref(), Some("phc"));
    assert_eq!(counted(ada.id).await.unwrap().total(), 1);
}
