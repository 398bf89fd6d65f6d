//! Sessions. Only the SHA-256 of a token is stored.

use entity::{account, session};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::db::InlineReads;

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    model: session::Model,
) -> Result<session::Model, DbErr> {
    session::ActiveModel::from(model).insert(db).await
}

/// The session for a token hash with its account: one indexed read (a join on the primary key).
pub async fn find_by_token_hash<C: ConnectionTrait>(
    db: &C,
    token_hash: &[u8],
) -> Result<Option<(session::Model, account::Model)>, DbErr> {
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash.to_vec()))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(s, a)| a.map(|a| (s, a))))
}

/// [`find_by_token_hash`] through SQLite readers that run the statement on the calling
/// thread (see [`InlineReads`]): the same statement, built by sea-orm, decoded here. The
/// struct literals below name every field, so a new column fails to compile until it is read.
pub fn find_by_token_hash_inline(
    reads: &InlineReads,
    token_hash: &[u8],
) -> Result<Option<(session::Model, account::Model)>, DbErr> {
    let statement = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_hash.to_vec()))
        .find_also_related(account::Entity)
        .limit(1)
        .build(DbBackend::Sqlite);
    // sea-orm names the columns of a two-entity select `A_<column>` and `B_<column>`; the
    // inner join of `find_also_related` is a left join, so a session without its account
    // reads as none, like the sea-orm path above.
    let rows = reads.query(&statement, |row| {
        let Some(account_id) = row.get::<_, Option<Uuid>>("B_id")? else {
            return Ok(None);
        };
        let session = session::Model {
            id: row.get("A_id")?,
            account_id: row.get("A_account_id")?,
            token_hash: row.get("A_token_hash")?,
            created_at: row.get("A_created_at")?,
            last_seen_at: row.get("A_last_seen_at")?,
            authenticated_at: row.get("A_authenticated_at")?,
            expires_at: row.get("A_expires_at")?,
            ip: row.get("A_ip")?,
            user_agent: row.get("A_user_agent")?,
            methods: row.get("A_methods")?,
        };
        let account = account::Model {
            id: account_id,
            username: row.get("B_username")?,
            display_name: row.get("B_display_name")?,
            user_handle: row.get("B_user_handle")?,
            created_at: row.get("B_created_at")?,
            password_hash: row.get("B_password_hash")?,
            totp_secret: row.get("B_totp_secret")?,
            totp_enabled_at: row.get("B_totp_enabled_at")?,
            totp_last_step: row.get("B_totp_last_step")?,
            failed_attempts: row.get("B_failed_attempts")?,
            locked_until: row.get("B_locked_until")?,
            disabled: row.get("B_disabled")?,
        };
        Ok(Some((session, account)))
    })?;
    Ok(rows.into_iter().next().flatten())
}

/// Record activity, at most once a minute per session (the caller checks the stored time).
pub async fn touch<C: ConnectionTrait>(db: &C, id: Uuid, now: i64) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::LastSeenAt.lt(now - 60_000))
        .exec(db)
        .await
        .map(|_| ())
}

/// Re-authentication: a new token for the same session, a fresh authentication time.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    old_token_hash: &[u8],
    new_token_hash: Vec<u8>,
    methods: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::TokenHash, Expr::value(new_token_hash))
        .col_expr(session::Column::AuthenticatedAt, Expr::value(now))
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .col_expr(session::Column::Methods, Expr::value(methods))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::TokenHash.eq(old_token_hash.to_vec()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn list_for_account<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    now: i64,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::ExpiresAt.gt(now))
        .order_by_desc(session::Column::LastSeenAt)
        .all(db)
        .await
}

/// Delete one session of an account; false when there is no such session *of that account*.
pub async fn delete<C: ConnectionTrait>(db: &C, account_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let result = session::Entity::delete_many()
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Delete every session of an account except `keep`; returns how many ended.
pub async fn delete_others<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    keep: Uuid,
) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::AccountId.eq(account_id))
        .filter(session::Column::Id.ne(keep))
        .exec(db)
        .await?
        .rows_affected)
}

/// Remove sessions past their absolute or idle end; safe to run from every instance.
pub async fn delete_expired<C: ConnectionTrait>(
    db: &C,
    now: i64,
    idle_ms: i64,
) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many()
        .filter(
            Condition::any()
                .add(session::Column::ExpiresAt.lte(now))
                .add(session::Column::LastSeenAt.lte(now - idle_ms)),
        )
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account(id: Uuid) -> account::Model {
        account::Model {
            id,
            username: "ada".into(),
            display_name: "Ada".into(),
            user_handle: Uuid::new_v4(),
            created_at: 1,
            password_hash: Some("$argon2id$…".into()),
            totp_secret: Some(vec![1, 2, 3]),
            totp_enabled_at: None,
            totp_last_step: Some(-7),
            failed_attempts: 3,
            locked_until: None,
            disabled: true,
        }
    }

    /// The inline read decodes exactly what sea-orm's own read of the same row gives.
    #[tokio::test]
    async fn the_inline_read_gives_what_sea_orm_gives() {
        let dir = std::env::temp_dir().join(format!("sesame-inline-{}", Uuid::new_v4()));
        let url = format!("sqlite://{}/s.db", dir.display());
        let db = crate::db::connect(&url, 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let reads = crate::db::connect_inline(&url).unwrap().unwrap();

        let acct = account::ActiveModel::from(account(Uuid::new_v4()))
            .insert(&db)
            .await
            .unwrap();
        let stored = insert(
            &db,
            session::Model {
                id: Uuid::new_v4(),
                account_id: acct.id,
                token_hash: vec![9; 32],
                created_at: 10,
                last_seen_at: 11,
                authenticated_at: 12,
                expires_at: 13,
                ip: None,
                user_agent: Some("UA".into()),
                methods: "passkey".into(),
            },
        )
        .await
        .unwrap();

        let by_sea_orm = find_by_token_hash(&db, &[9; 32]).await.unwrap();
        let inline = find_by_token_hash_inline(&reads, &[9; 32]).unwrap();
        assert_eq!(inline, by_sea_orm);
        assert_eq!(inline, Some((stored, acct)));
        assert_eq!(find_by_token_hash_inline(&reads, &[8; 32]).unwrap(), None);
        std::fs::remove_dir_all(dir).ok();
    }
}
