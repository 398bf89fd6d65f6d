//! The account as the contract shows it.

use entity::{account, contact, passkey, recovery_code};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, QueryTrait, Select,
    sea_query::{Expr, Func, Query, SelectStatement},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{clock::rfc3339, db::Reads};

/// `(SELECT COUNT(*) FROM … WHERE …)` as a scalar subquery.
fn count_of<E: EntityTrait>(rows: Select<E>) -> Expr {
    let query: SelectStatement = rows
        .select_only()
        .expr(Func::count(Expr::val(1)))
        .into_query();
    Expr::SubQuery(None, Box::new(query.into()))
}

#[derive(FromQueryResult)]
struct Counts {
    passkeys: i64,
    contacts: i64,
    recovery_codes_remaining: i64,
}

/// Contract shape `Account`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub password_set: bool,
    pub totp_enabled: bool,
    pub passkeys: u64,
    pub contacts: u64,
    pub recovery_codes_remaining: u64,
}

/// On the calling thread when `reads` has SQLite's inline readers.
pub async fn view(reads: Reads<'_>, account: &account::Model) -> Result<AccountView, DbErr> {
    // One statement with three scalar subqueries: this body answers every log-in, and on
    // SQLite each statement is a round trip to the connection's thread.
    let counts = Query::select()
        .expr_as(
            count_of(passkey::Entity::find().filter(passkey::Column::AccountId.eq(account.id))),
            "passkeys",
        )
        .expr_as(
            count_of(contact::Entity::find().filter(contact::Column::AccountId.eq(account.id))),
            "contacts",
        )
        .expr_as(
            count_of(
                recovery_code::Entity::find()
                    .filter(recovery_code::Column::AccountId.eq(account.id))
                    .filter(recovery_code::Column::UsedAt.is_null()),
            ),
            "recovery_codes_remaining",
        )
        .to_owned();
    let counts = match reads.inline {
        None => {
            let db = reads.pool;
            let statement = db.get_database_backend().build(&counts);
            Counts::find_by_statement(statement).one(db).await?
        }
        Some(inline) => inline
            .query(&DbBackend::Sqlite.build(&counts), |row| {
                Ok(Counts {
                    passkeys: row.get("passkeys")?,
                    contacts: row.get("contacts")?,
                    recovery_codes_remaining: row.get("recovery_codes_remaining")?,
                })
            })?
            .into_iter()
            .next(),
    }
    .ok_or_else(|| DbErr::RecordNotFound("account counts".into()))?;
    let (passkeys, contacts, recovery_codes_remaining) = (
        counts.passkeys.max(0) as u64,
        counts.contacts.max(0) as u64,
        counts.recovery_codes_remaining.max(0) as u64,
    );
    Ok(AccountView {
        id: account.id,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        created_at: rfc3339(account.created_at),
        password_set: account.password_hash.is_some(),
        totp_enabled: account.totp_enabled_at.is_some(),
        passkeys,
        contacts,
        recovery_codes_remaining,
    })
}
