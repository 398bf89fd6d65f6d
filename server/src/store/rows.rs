//! Entity models from rows read by [`InlineReads`](crate::db::InlineReads), the SQLite readers
//! that run on the calling thread, and from rows that statements of the writer thread's inline
//! connection return ([`crate::db::Exec::fetch`]). `prefix` is sea-orm's column prefix in a
//! two-entity select (`A_`, `B_`) or empty. The struct literals name every field, so a new column fails to
//! compile until it is read here; the unit test below compares each inline read with sea-orm's
//! own read of the same rows.

use entity::{account, ceremony, code_send, contact, passkey, session};
use rusqlite::{Row, types::FromSql};
use sea_orm::{DbBackend, DbErr, EntityTrait, FromQueryResult, QuerySelect, QueryTrait, SelectTwo};

use crate::db::Reads;

pub use crate::db::writes::Decode;

/// The first row of a `find_also_related` select that has both entities (the join is a left
/// join: a row without its `B` reads as none), through the inline readers when `reads` has
/// them, else through sea-orm on the pool.
pub async fn find_pair<A: EntityTrait, B: EntityTrait>(
    reads: Reads<'_>,
    query: SelectTwo<A, B>,
    (a, b): (Decode<A::Model>, Decode<B::Model>),
) -> Result<Option<(A::Model, B::Model)>, DbErr> {
    let Some(inline) = reads.inline else {
        if let Some(pinned) = reads.pinned {
            let statement = query.limit(1).build(DbBackend::Postgres);
            let Some(row) = pinned.query_one(&statement).await? else {
                return Ok(None);
            };
            let b = B::Model::from_query_result_optional(&row, "B_")?;
            return b
                .map(|b| A::Model::from_query_result(&row, "A_").map(|a| (a, b)))
                .transpose();
        }
        let found = query.one(reads.pool).await?;
        return Ok(found.and_then(|(a, b)| b.map(|b| (a, b))));
    };
    let rows = inline.query(&query.limit(1).build(DbBackend::Sqlite), |row| {
        if absent(row)? {
            return Ok(None);
        }
        Ok(Some((a(row, "A_")?, b(row, "B_")?)))
    })?;
    Ok(rows.into_iter().next().flatten())
}

fn get<T: FromSql>(row: &Row<'_>, prefix: &str, column: &str) -> rusqlite::Result<T> {
    if prefix.is_empty() {
        row.get(column)
    } else {
        row.get(format!("{prefix}{column}").as_str())
    }
}

pub fn account(row: &Row<'_>, p: &str) -> rusqlite::Result<account::Model> {
    Ok(account::Model {
        id: get(row, p, "id")?,
        username: get(row, p, "username")?,
        display_name: get(row, p, "display_name")?,
        user_handle: get(row, p, "user_handle")?,
        created_at: get(row, p, "created_at")?,
        password_hash: get(row, p, "password_hash")?,
        totp_secret: get(row, p, "totp_secret")?,
        totp_enabled_at: get(row, p, "totp_enabled_at")?,
        totp_last_step: get(row, p, "totp_last_step")?,
        failed_attempts: get(row, p, "failed_attempts")?,
        locked_until: get(row, p, "locked_until")?,
        disabled: get(row, p, "disabled")?,
    })
}

pub fn session(row: &Row<'_>, p: &str) -> rusqlite::Result<session::Model> {
    Ok(session::Model {
        id: get(row, p, "id")?,
        account_id: get(row, p, "account_id")?,
        token_hash: get(row, p, "token_hash")?,
        created_at: get(row, p, "created_at")?,
        last_seen_at: get(row, p, "last_seen_at")?,
        authenticated_at: get(row, p, "authenticated_at")?,
        expires_at: get(row, p, "expires_at")?,
        ip: get(row, p, "ip")?,
        user_agent: get(row, p, "user_agent")?,
        methods: get(row, p, "methods")?,
    })
}

pub fn passkey(row: &Row<'_>, p: &str) -> rusqlite::Result<passkey::Model> {
    Ok(passkey::Model {
        id: get(row, p, "id")?,
        account_id: get(row, p, "account_id")?,
        credential_id: get(row, p, "credential_id")?,
        data: get(row, p, "data")?,
        label: get(row, p, "label")?,
        aaguid: get(row, p, "aaguid")?,
        backup_eligible: get(row, p, "backup_eligible")?,
        backup_state: get(row, p, "backup_state")?,
        sign_count: get(row, p, "sign_count")?,
        created_at: get(row, p, "created_at")?,
        last_used_at: get(row, p, "last_used_at")?,
    })
}

pub fn ceremony(row: &Row<'_>, p: &str) -> rusqlite::Result<ceremony::Model> {
    Ok(ceremony::Model {
        id: get(row, p, "id")?,
        kind: get(row, p, "kind")?,
        account_id: get(row, p, "account_id")?,
        session_id: get(row, p, "session_id")?,
        username: get(row, p, "username")?,
        state: get(row, p, "state")?,
        code_hash: get(row, p, "code_hash")?,
        attempts: get(row, p, "attempts")?,
        created_at: get(row, p, "created_at")?,
        expires_at: get(row, p, "expires_at")?,
    })
}

pub fn contact(row: &Row<'_>, p: &str) -> rusqlite::Result<contact::Model> {
    Ok(contact::Model {
        id: get(row, p, "id")?,
        account_id: get(row, p, "account_id")?,
        channel: get(row, p, "channel")?,
        address: get(row, p, "address")?,
        verified_at: get(row, p, "verified_at")?,
    })
}

pub fn code_send(row: &Row<'_>, p: &str) -> rusqlite::Result<code_send::Model> {
    Ok(code_send::Model {
        id: get(row, p, "id")?,
        target: get(row, p, "target")?,
        sent_at: get(row, p, "sent_at")?,
    })
}

/// The one column `n` of a count (`SELECT COUNT(*) AS n …`, see [`super::count`]).
#[derive(Clone, Copy, Debug, sea_orm::FromQueryResult)]
pub struct Count {
    pub n: i64,
}

pub fn count(row: &Row<'_>, p: &str) -> rusqlite::Result<Count> {
    Ok(Count {
        n: get(row, p, "n")?,
    })
}

/// Whether the `B_` entity of a two-entity select is absent (its left join found no row).
pub fn absent(row: &Row<'_>) -> rusqlite::Result<bool> {
    Ok(row.get::<_, Option<uuid::Uuid>>("B_id")?.is_none())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use entity::{contact, recovery_code};
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

    /// Every read that can run on SQLite's inline readers gives exactly what sea-orm's own read
    /// of the same rows gives, for rows with and without NULLs, joins with and without a
    /// partner row, and none found.
    #[tokio::test]
    async fn inline_reads_give_what_sea_orm_gives() {
        let dir = std::env::temp_dir().join(format!("sesame-inline-{}", Uuid::new_v4()));
        let url = format!("sqlite://{}/s.db", dir.display());
        let db = crate::db::connect(&url, 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let inline: std::sync::Arc<InlineReads> = crate::db::connect_inline(&url).unwrap().unwrap();
        let pooled = Reads::pooled(&db);
        let fast = Reads {
            pool: &db,
            inline: Some(&inline),
            pinned: None,
        };

        let ada = account("ada", true);
        let bob = account("bob", false);
        insert(&db, account::ActiveModel::from(ada.clone())).await;
        insert(&db, account::ActiveModel::from(bob.clone())).await;
        let keys = [passkey(ada.id, 1, 20), passkey(ada.id, 2, 10)];
        for key in &keys {
            insert(&db, passkey::ActiveModel::from(key.clone())).await;
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
        insert(&db, session::ActiveModel::from(session.clone())).await;
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

        for hash in [[9; 32], [8; 32]] {
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

        for id in [vec![1; 16], vec![2; 16], vec![3; 16]] {
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
        std::fs::remove_dir_all(dir).ok();
    }
}
