//! The account settings' writes through the inline connection: ways in, passkey rename and
//! removal, contact removal, TOTP and the password hash.

use super::*;

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
            let txn = conn.begin().await?;
            store::accounts::lock(&txn, id).await?;
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
            let txn = conn.begin().await?;
            store::accounts::lock(&txn, ada.id).await?;
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
