//! The lock-out count, the resend limit's records, contacts and recovery-code sets written
//! through the inline connection.

use super::*;

/// The lock-out count and the resend limit's records through the inline connection: each
/// charged try returns its own count (`UPDATE … RETURNING`, decoded inline), a waiting or
/// hard-locked account is not charged (a waiting one is for a known device), and the sent-code
/// look-up gives what sea-orm's gives.
#[tokio::test]
async fn failure_counts_and_sent_codes_on_the_inline_connection() {
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let charge_past = |id, now, hard_lock, past_wait| {
        writer.write(move |conn| async move {
            let txn = conn.begin().await?;
            let count = store::accounts::charge_try(&txn, id, now, hard_lock, past_wait, |n| {
                (n >= 3).then_some(i64::from(n))
            })
            .await?;
            txn.commit().await?;
            Ok(count)
        })
    };
    let charge = |id, now, hard_lock| charge_past(id, now, hard_lock, false);
    for expected in 1..=4 {
        assert_eq!(charge(ada.id, 100, 10).await.unwrap(), Some(expected));
    }
    assert_eq!(
        charge(Uuid::new_v4(), 100, 10).await.unwrap(),
        None,
        "no such account"
    );
    assert_eq!(
        charge(ada.id, 3, 10).await.unwrap(),
        None,
        "waiting until 4"
    );
    assert_eq!(
        charge(ada.id, 100, 4).await.unwrap(),
        None,
        "hard-locked at 4"
    );
    let stored = store::accounts::find_by_id(&db, ada.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.failed_attempts, stored.locked_until), (4, Some(4)));
    // A right code gives its try back: the next try counts 4 again.
    let refund = |id| {
        writer
            .write(move |conn| async move { Ok(store::accounts::refund_try(&conn, id, 3).await?) })
    };
    refund(ada.id).await.unwrap();
    assert_eq!(charge(ada.id, 100, 10).await.unwrap(), Some(4));
    // Below the free tries again, the back-off goes too.
    refund(ada.id).await.unwrap();
    refund(ada.id).await.unwrap();
    let stored = store::accounts::find_by_id(&db, ada.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.failed_attempts, stored.locked_until), (2, None));
    assert_eq!(charge(ada.id, 0, 10).await.unwrap(), Some(3));
    // A known device's try is charged while the account waits (until 3 now), not past the
    // hard lock.
    assert_eq!(charge(ada.id, 0, 10).await.unwrap(), None);
    assert_eq!(charge_past(ada.id, 0, 10, true).await.unwrap(), Some(4));
    assert_eq!(charge_past(ada.id, 0, 4, true).await.unwrap(), None);

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
