//! Accounts.

use entity::{account, passkey};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use super::rows;
use crate::db::{Exec, Reads};

pub async fn find_by_username<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Username.eq(username))
        .one(db)
        .await
}

/// An account by username with its passkeys (oldest first): one read (a left join).
/// On the calling thread when `reads` has SQLite's inline readers.
pub async fn find_by_username_with_passkeys(
    reads: Reads<'_>,
    username: &str,
) -> Result<Option<(account::Model, Vec<passkey::Model>)>, DbErr> {
    let query = account::Entity::find()
        .filter(account::Column::Username.eq(username))
        .find_with_related(passkey::Entity);
    let found = match reads.inline {
        None => query.all(reads.pool).await?.into_iter().next(),
        Some(inline) => {
            // One row per passkey (or one row with no passkey), all of the same account:
            // `username` is unique.
            let rows = inline.query(&query.build(DbBackend::Sqlite), |row| {
                let passkey = if rows::absent(row)? {
                    None
                } else {
                    Some(rows::passkey(row, "B_")?)
                };
                Ok((rows::account(row, "A_")?, passkey))
            })?;
            let mut rows = rows.into_iter();
            rows.next().map(|(account, first)| {
                let passkeys = first.into_iter().chain(rows.filter_map(|(_, p)| p));
                (account, passkeys.collect())
            })
        }
    };
    Ok(found.map(|(account, mut passkeys)| {
        passkeys.sort_by_key(|p| p.created_at);
        (account, passkeys)
    }))
}

pub async fn find_by_id<C: Exec>(db: &C, id: Uuid) -> Result<Option<account::Model>, DbErr> {
    let query = account::Entity::find_by_id(id).build(db.backend());
    Ok(db.fetch(query, rows::account).await?.pop())
}

/// The account, read in a write transaction so that no other write to it can commit before
/// this transaction ends. SQLite: the writer's `BEGIN IMMEDIATE` already holds the database's
/// one write lock (SQLite has no `FOR UPDATE`). PostgreSQL: `SELECT … FOR NO KEY UPDATE`, not
/// `FOR UPDATE`: it serialises the writes to the account row but does not conflict with the
/// `KEY SHARE` lock a concurrent log-in's session and event inserts take on it through their
/// foreign keys (with `FOR UPDATE` a log-in holding its passkey row and a removal holding the
/// account row would deadlock). Take it first, before any other row of the account.
pub async fn lock<C: Exec>(db: &C, id: Uuid) -> Result<Option<account::Model>, DbErr> {
    let mut query = account::Entity::find_by_id(id);
    if db.backend() == DbBackend::Postgres {
        query = query.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    Ok(db
        .fetch(query.build(db.backend()), rows::account)
        .await?
        .pop())
}

pub async fn find_by_user_handle<C: ConnectionTrait>(
    db: &C,
    handle: Uuid,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::UserHandle.eq(handle))
        .one(db)
        .await
}

/// A new account with no password, TOTP or lock-out.
pub fn new_account(
    username: &str,
    display_name: &str,
    user_handle: Uuid,
    now: i64,
) -> account::Model {
    account::Model {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        user_handle,
        created_at: now,
        password_hash: None,
        totp_secret: None,
        totp_enabled_at: None,
        totp_last_step: None,
        failed_attempts: 0,
        locked_until: None,
        disabled: false,
    }
}

pub async fn insert<C: Exec>(db: &C, model: account::Model) -> Result<account::Model, DbErr> {
    super::insert_row::<_, account::ActiveModel>(db, model).await
}

/// Reset the code-failure count and any lock-out; whether there was anything to clear.
pub async fn clear_failures<C: Exec>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let update = account::Entity::update_many()
        .col_expr(account::Column::FailedAttempts, Expr::value(0))
        .col_expr(
            account::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::FailedAttempts.gt(0));
    Ok(db.exec_query(&update).await? == 1)
}

/// After a successful log-in: clear the failure count and lock of `account` (as read moments
/// before), skipping the write when it had nothing to clear, the common case. A failure
/// counted in between stays counted until the next successful log-in.
pub async fn clear_failures_of<C: Exec>(db: &C, account: &account::Model) -> Result<(), DbErr> {
    if account.failed_attempts > 0 || account.locked_until.is_some() {
        clear_failures(db, account.id).await?;
    }
    Ok(())
}

/// Charge one code try to the account before its code is checked: count it and set the
/// back-off `locked_until(count)`, unless the account is waiting (`locked_until` after `now`;
/// not checked when `past_wait`, a known device's try) or hard-locked (`hard_lock` tries
/// counted). Returns the new count; `None` when the try was refused or there is no such
/// account. The increment is conditional and returns the row it
/// wrote (`UPDATE … WHERE … RETURNING`): tries sent at once are charged one after another
/// (SQLite's one writer; PostgreSQL's row lock, after which the waiting `UPDATE` checks its
/// `WHERE` again on the new row), so none slips past a lock-out that the try before it set.
/// Run it in a transaction of its own, committed before the code is checked.
pub async fn charge_try<C: Exec>(
    db: &C,
    id: Uuid,
    now: i64,
    hard_lock: i32,
    past_wait: bool,
    locked_until: impl Fn(i32) -> Option<i64>,
) -> Result<Option<i32>, DbErr> {
    use sea_orm::{
        Condition,
        sea_query::{Expr, ExprTrait},
    };
    let mut increment = account::Entity::update_many()
        .col_expr(
            account::Column::FailedAttempts,
            Expr::col(account::Column::FailedAttempts).add(1),
        )
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::FailedAttempts.lt(hard_lock));
    if !past_wait {
        increment = increment.filter(
            Condition::any()
                .add(account::Column::LockedUntil.is_null())
                .add(account::Column::LockedUntil.lte(now)),
        );
    }
    let mut increment = increment.into_query();
    increment.returning(super::every_column::<account::Entity>());
    let Some(count) = db
        .fetch(db.backend().build(&increment), rows::account)
        .await?
        .pop()
        .map(|a| a.failed_attempts)
    else {
        return Ok(None);
    };
    let back_off = account::Entity::update_many()
        .col_expr(
            account::Column::LockedUntil,
            Expr::value(locked_until(count)),
        )
        .filter(account::Column::Id.eq(id));
    db.exec_query(&back_off).await?;
    Ok(Some(count))
}

/// Give back a try charged by [`charge_try`] whose code turned out right (for a code that is
/// not a log-in, which clears the count instead): one less, and no back-off once fewer than
/// `free` remain, since the back-off came from a try that no longer counts.
pub async fn refund_try<C: Exec>(db: &C, id: Uuid, free: i32) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let update = account::Entity::update_many()
        .col_expr(
            account::Column::FailedAttempts,
            Expr::col(account::Column::FailedAttempts).sub(1),
        )
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::FailedAttempts.gt(0));
    db.exec_query(&update).await?;
    let unlock = account::Entity::update_many()
        .col_expr(
            account::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::FailedAttempts.lt(free))
        .filter(account::Column::LockedUntil.is_not_null());
    db.exec_query(&unlock).await?;
    Ok(())
}

/// Turn the account's TOTP on: its sealed secret, when, and the step of the code that
/// confirmed it (so that code cannot log in again). False when there is no such account.
pub async fn set_totp<C: Exec>(
    db: &C,
    id: Uuid,
    secret: Vec<u8>,
    enabled_at: i64,
    last_step: i64,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let update = account::Entity::update_many()
        .col_expr(account::Column::TotpSecret, Expr::value(secret))
        .col_expr(account::Column::TotpEnabledAt, Expr::value(enabled_at))
        .col_expr(account::Column::TotpLastStep, Expr::value(last_step))
        .filter(account::Column::Id.eq(id));
    Ok(db.exec_query(&update).await? == 1)
}

/// Turn the account's TOTP off; false when it was not on (or there is no such account).
pub async fn clear_totp<C: Exec>(db: &C, id: Uuid) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let update = account::Entity::update_many()
        .col_expr(
            account::Column::TotpSecret,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(
            account::Column::TotpEnabledAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            account::Column::TotpLastStep,
            Expr::value(Option::<i64>::None),
        )
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::TotpEnabledAt.is_not_null());
    Ok(db.exec_query(&update).await? == 1)
}

/// Set or (`None`) remove the account's password hash (PHC string); false when there is no
/// such account.
pub async fn set_password_hash<C: Exec>(
    db: &C,
    id: Uuid,
    phc: Option<String>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let update = account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, Expr::value(phc))
        .filter(account::Column::Id.eq(id));
    Ok(db.exec_query(&update).await? == 1)
}

/// Advance the last accepted TOTP step, only forwards: the conditional write lets each step
/// through once per account, even concurrently (RFC 6238 §5.2). Only while the account still
/// has `secret` (sealed, as stored), the one the code was checked against: a code of a secret
/// replaced or removed meanwhile is refused.
pub async fn advance_totp_step<C: Exec>(
    db: &C,
    id: Uuid,
    step: i64,
    secret: Vec<u8>,
) -> Result<bool, DbErr> {
    use sea_orm::{Condition, sea_query::Expr};
    let update = account::Entity::update_many()
        .col_expr(account::Column::TotpLastStep, Expr::value(step))
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::TotpEnabledAt.is_not_null())
        .filter(account::Column::TotpSecret.eq(secret))
        .filter(
            Condition::any()
                .add(account::Column::TotpLastStep.is_null())
                .add(account::Column::TotpLastStep.lt(step)),
        );
    Ok(db.exec_query(&update).await? == 1)
}
