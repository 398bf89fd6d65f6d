//! The inline connection enforces foreign keys, counts the rows a conditional write changed, and
//! reports a unique violation as sqlx does.

use entity::session;

use super::*;
use crate::error::ApiError;

#[tokio::test]
async fn the_inline_connection_enforces_foreign_keys_and_counts_changed_rows() {
    let (_dir, db, writer) = open().await;
    let orphan = session_row(Uuid::new_v4(), 7);
    let refused = writer
        .write({
            let row = orphan.clone();
            move |conn| async move { Ok(store::sessions::insert_counting_others(&conn, row).await?) }
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
            move |conn| async move { Ok(store::sessions::insert_counting_others(&conn, row).await?) }
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

/// A new session's insert counts the account's other sessions in the same statement
/// (`store::sessions::insert_counting_others`, the session limit's trigger), on the inline
/// connection that runs log-ins on SQLite and on sea-orm's.
#[tokio::test]
async fn a_session_insert_counts_the_accounts_other_sessions() {
    let (_dir, db, writer) = open().await;
    let ada = store::accounts::new_account("ada", "Ada", Uuid::new_v4(), 1);
    store::accounts::insert(&db, ada.clone()).await.unwrap();
    let session = |n: u8| session_row(ada.id, n);
    for n in 0..3u8 {
        let row = session(n);
        let others = writer
            .write(move |conn| async move {
                Ok(store::sessions::insert_counting_others(&conn, row).await?)
            })
            .await
            .unwrap();
        assert_eq!(others, u64::from(n));
    }
    let others = store::sessions::insert_counting_others(&db, session(9))
        .await
        .unwrap();
    assert_eq!(others, 3);
}

/// A session of `account_id` whose token hash is 32 bytes of `token`.
fn session_row(account_id: Uuid, token: u8) -> session::Model {
    session::Model {
        id: Uuid::new_v4(),
        account_id,
        token_hash: vec![token; 32],
        created_at: 1,
        last_seen_at: 1,
        authenticated_at: 1,
        expires_at: 2,
        ip: None,
        user_agent: None,
        methods: "passkey".into(),
    }
}
