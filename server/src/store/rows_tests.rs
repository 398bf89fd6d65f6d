//! The inline decoders of `store::rows` against sea-orm's own reads, and `PairBy`'s reused
//! statements against fresh builds.

#![allow(clippy::unwrap_used)]

use entity::{account, code_send, contact, passkey, recovery_code, session};
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use uuid::Uuid;

use super::*;
use crate::db::{InlineReads, Reads};
use crate::store;

fn account(username: &str, disabled: bool) -> account::Model {
    account::Model {
        id: Uuid::new_v4(),
        username: username.into(),
        display_name: "Ada".into(),
        user_handle: Uuid::new_v4(),
        created_at: 1,
        password_hash: Some("$argon2id$…".into()),
        totp_secret: Some(vec![1, 2, 3]),
        totp_enabled_at: None,
        totp_last_step: Some(-7),
        failed_attempts: 3,
        locked_until: None,
        disabled,
    }
}

fn passkey(account_id: Uuid, n: u8, created_at: i64) -> passkey::Model {
    passkey::Model {
        id: Uuid::new_v4(),
        account_id,
        credential_id: vec![n; 16],
        data: format!("{{\"n\":{n}}}"),
        label: format!("key {n}"),
        aaguid: n.is_multiple_of(2).then(Uuid::new_v4),
        backup_eligible: true,
        backup_state: n.is_multiple_of(2),
        sign_count: i64::from(n) * 1000,
        created_at,
        last_used_at: (n > 1).then_some(99),
    }
}

async fn insert<A>(db: &DatabaseConnection, row: A)
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    row.insert(db).await.unwrap();
}

/// Credential ids to look up: two of Ada's keys and an unknown one, the first two again so
/// that their second read takes the checked layout (`PairBy::layout`).
fn credential_ids_read_twice() -> [Vec<u8>; 5] {
    [1, 2, 3, 1, 2].map(|n| vec![n; 16])
}

/// A disabled account `ada` with two passkeys (credential ids 1… and 2…, with and without
/// NULLs) and one session (token hash 9…, no IP), all inserted.
async fn ada_with_keys_and_session(
    db: &DatabaseConnection,
) -> (account::Model, [passkey::Model; 2], session::Model) {
    let ada = account("ada", true);
    insert(db, account::ActiveModel::from(ada.clone())).await;
    let keys = [passkey(ada.id, 1, 20), passkey(ada.id, 2, 10)];
    for key in &keys {
        insert(db, passkey::ActiveModel::from(key.clone())).await;
    }
    let session = session::Model {
        id: Uuid::new_v4(),
        account_id: ada.id,
        token_hash: vec![9; 32],
        created_at: 10,
        last_seen_at: 11,
        authenticated_at: 12,
        expires_at: 13,
        ip: None,
        user_agent: Some("UA".into()),
        methods: "passkey".into(),
    };
    insert(db, session::ActiveModel::from(session.clone())).await;
    (ada, keys, session)
}

/// Columns are read in sea-orm's order when they are there, and found by name when they
/// are not (another order, other columns before them, a prefix).
#[test]
fn columns_out_of_order_are_found_by_name() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let id = Uuid::new_v4();
    let expected = code_send::Model {
        id,
        target: "email:ada@example.com".into(),
        sent_at: 42,
    };
    for (sql, prefix) in [
        ("SELECT ?1 AS id, ?2 AS target, ?3 AS sent_at", ""),
        ("SELECT ?3 AS sent_at, ?2 AS target, ?1 AS id", ""),
        (
            "SELECT 7 AS A_id, ?2 AS B_target, ?1 AS B_id, ?3 AS B_sent_at",
            "B_",
        ),
    ] {
        let got = conn
            .query_row(sql, rusqlite::params![id, expected.target, 42], |row| {
                code_send(row, prefix)
            })
            .unwrap();
        assert_eq!(got, expected, "{sql}");
    }
}

/// A pair's layout is trusted (read by position alone) only once a row had every column where
/// it was expected; a row with any column elsewhere is read by name, every time.
#[test]
fn only_a_layout_with_every_column_in_place_is_trusted() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let read = |sql: &str, layout: &OnceLock<usize>| {
        conn.query_row(sql, rusqlite::params![a, b], |row| {
            pair_from::<_, code_send::Model, code_send::Model>(row, layout)
        })
        .unwrap()
    };
    let expected = Some((
        code_send::Model {
            id: a,
            target: "a".into(),
            sent_at: 1,
        },
        code_send::Model {
            id: b,
            target: "b".into(),
            sent_at: 2,
        },
    ));
    let shuffled = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                    ?2 AS B_id, 2 AS B_sent_at, 'b' AS B_target";
    let layout = OnceLock::new();
    for _ in 0..2 {
        assert_eq!(read(shuffled, &layout), expected);
        assert_eq!(layout.get(), None);
    }
    let in_place = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                    ?2 AS B_id, 'b' AS B_target, 2 AS B_sent_at";
    for _ in 0..2 {
        assert_eq!(read(in_place, &layout), expected);
        assert_eq!(layout.get(), Some(&3));
    }
    let absent = "SELECT ?1 AS A_id, 'a' AS A_target, 1 AS A_sent_at, \
                  NULLIF(?2, ?2) AS B_id, NULL AS B_target, NULL AS B_sent_at";
    assert_eq!(read(absent, &layout), None);
}

/// A [`PairBy`] statement is what sea-orm builds for the same select, in both dialects,
/// for the first value and for every later one (bound to the SQL kept from the first).
#[test]
fn reused_statements_are_what_sea_orm_builds() {
    fn check<A: EntityTrait + Related<B>, B: EntityTrait>(
        select: &PairBy<A, B>,
        column: A::Column,
    ) {
        for (slot, backend) in [DbBackend::Sqlite, DbBackend::Postgres]
            .into_iter()
            .enumerate()
        {
            for value in [vec![1_u8; 32], vec![2; 16], vec![]] {
                let fresh = A::find()
                    .filter(column.eq(value.clone()))
                    .find_also_related(B::default())
                    .limit(1)
                    .build(backend);
                let reused = select.statement(backend, value.into());
                assert_eq!(reused.db_backend, backend);
                assert_eq!((reused.sql, reused.values), (fresh.sql, fresh.values));
            }
            assert!(
                select.built[slot].get().is_some(),
                "{backend:?}: SQL not kept"
            );
        }
    }
    check(
        &PairBy::<session::Entity, account::Entity>::new(session::Column::TokenHash),
        session::Column::TokenHash,
    );
    check(
        &PairBy::<passkey::Entity, account::Entity>::new(passkey::Column::CredentialId),
        passkey::Column::CredentialId,
    );
}

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
