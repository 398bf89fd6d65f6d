//! The reads on SQLite's inline readers and on PostgreSQL's pinned connections give exactly what
//! sea-orm's own reads give.

use entity::{contact, recovery_code};

use super::*;
use crate::db::{InlineReads, Reads};
use crate::store;

/// Every read that can run on SQLite's inline readers gives exactly what sea-orm's own read
/// of the same rows gives, for rows with and without NULLs, joins with and without a
/// partner row, and none found.
#[tokio::test]
async fn inline_reads_give_what_sea_orm_gives() {
    let (_dir, url, db) = crate::db::scratch::sqlite().await;
    let inline: std::sync::Arc<InlineReads> = crate::db::connect_inline(&url).unwrap().unwrap();
    let pool = crate::db::ReadPool::new(db.clone());
    let pooled = Reads::pooled(&pool);
    let fast = Reads {
        pool: &pool,
        inline: Some(&inline),
        pinned: None,
    };

    let (ada, keys, session) = ada_with_keys_and_session(&db).await;
    let bob = account("bob", false);
    insert(&db, account::ActiveModel::from(bob.clone())).await;
    insert(
        &db,
        contact::ActiveModel::from(contact::Model {
            id: Uuid::new_v4(),
            account_id: ada.id,
            channel: "email".into(),
            address: "ada@example.com".into(),
            verified_at: 5,
        }),
    )
    .await;
    for used_at in [None, Some(3), None] {
        insert(
            &db,
            recovery_code::ActiveModel::from(recovery_code::Model {
                id: Uuid::new_v4(),
                account_id: ada.id,
                lookup: Uuid::new_v4().as_bytes()[..4].to_vec(),
                code_hash: "h".into(),
                created_at: 1,
                used_at,
            }),
        )
        .await;
    }

    // The second read of the same select takes its checked layout (`PairBy::layout`).
    for hash in [[9; 32], [8; 32], [9; 32], [8; 32]] {
        let expected = store::sessions::find_by_token_hash(pooled, &hash)
            .await
            .unwrap();
        let got = store::sessions::find_by_token_hash(fast, &hash)
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
    assert_eq!(
        store::sessions::find_by_token_hash(fast, &[9; 32])
            .await
            .unwrap(),
        Some((session, ada.clone()))
    );

    for id in credential_ids_read_twice() {
        let expected = store::passkeys::find_with_account(pooled, &id)
            .await
            .unwrap();
        let got = store::passkeys::find_with_account(fast, &id).await.unwrap();
        assert_eq!(got, expected);
    }
    assert_eq!(
        store::passkeys::find_with_account(fast, &[1; 16])
            .await
            .unwrap(),
        Some((keys[0].clone(), ada.clone()))
    );

    for name in ["ada", "bob", "eve"] {
        let expected = store::accounts::find_by_username_with_passkeys(pooled, name)
            .await
            .unwrap();
        let got = store::accounts::find_by_username_with_passkeys(fast, name)
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
    assert_eq!(
        store::accounts::find_by_username_with_passkeys(fast, "ada")
            .await
            .unwrap(),
        Some((ada.clone(), vec![keys[1].clone(), keys[0].clone()]))
    );
    assert_eq!(
        store::accounts::find_by_username_with_passkeys(fast, "bob")
            .await
            .unwrap(),
        Some((bob.clone(), vec![]))
    );

    for who in [&ada, &bob] {
        let expected = crate::service::accounts::view(pooled, who).await.unwrap();
        let got = crate::service::accounts::view(fast, who).await.unwrap();
        assert_eq!(format!("{got:?}"), format!("{expected:?}"));
    }
    let view = crate::service::accounts::view(fast, &ada).await.unwrap();
    assert_eq!(
        (view.passkeys, view.contacts, view.recovery_codes_remaining),
        (2, 1, 2)
    );
}

/// On PostgreSQL, the session check's and the log-in's look-ups through the pinned
/// connections (rows read by position) give exactly what sea-orm's own read on the pool gives,
/// for rows with and without NULLs and none found. Runs when `SESAME_TEST_POSTGRES_URL` is set
/// (as in CI), on a database of its own.
#[tokio::test]
async fn pinned_reads_give_what_sea_orm_gives() {
    let Some(scratch) = crate::db::scratch::ScratchDatabase::create("sesame_rows").await else {
        return;
    };
    let db = crate::db::connect(&scratch.url, 4).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let pinned = crate::db::PinnedReads::new(&db, 4).unwrap();
    let pool = crate::db::ReadPool::new(db.clone());
    let pooled = Reads::pooled(&pool);
    let fast = Reads {
        pool: &pool,
        inline: None,
        pinned: Some(&pinned),
    };

    let (ada, keys, session) = ada_with_keys_and_session(&db).await;

    // The second read of the same select takes its checked layout (`PairBy::layout`).
    for hash in [[9; 32], [8; 32], [9; 32], [8; 32]] {
        let expected = store::sessions::find_by_token_hash(pooled, &hash).await;
        let got = store::sessions::find_by_token_hash(fast, &hash).await;
        assert_eq!(got.unwrap(), expected.unwrap());
    }
    let found = store::sessions::find_by_token_hash(fast, &[9; 32]).await;
    assert_eq!(found.unwrap(), Some((session, ada.clone())));
    for id in credential_ids_read_twice() {
        let expected = store::passkeys::find_with_account(pooled, &id).await;
        let got = store::passkeys::find_with_account(fast, &id).await;
        assert_eq!(got.unwrap(), expected.unwrap());
    }
    let found = store::passkeys::find_with_account(fast, &[2; 16]).await;
    assert_eq!(found.unwrap(), Some((keys[1].clone(), ada)));

    pinned.release().await;
    scratch.drop(db).await;
}
