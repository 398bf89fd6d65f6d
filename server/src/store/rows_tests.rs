//! The inline decoders of `store::rows` against sea-orm's own reads, and `PairBy`'s reused
//! statements against fresh builds.

#![allow(clippy::unwrap_used)]

#[path = "rows_tests_decode.rs"]
mod decode;
#[path = "rows_tests_reads.rs"]
mod reads;

use entity::{account, passkey, session};
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use uuid::Uuid;

use super::*;

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
