//! "Ways in": what an account can log in with on its own, so that no removal ever leaves an
//! account locked out (contract: 409 `last_method`).
//!
//! A way in is a passkey, a verified contact (email or SMS codes) or TOTP. A password is not
//! (it never logs in alone), and recovery codes are a last resort, not a method to keep.
//!
//! A removal must be decided inside the transaction that deletes, race-free: two concurrent
//! removals of the last two ways in must not both succeed. So every removal goes:
//!
//! ```text
//! let txn = ways_in::begin_removal(&state.db, account.id).await?;   // serialises removals
//! … delete the passkey / contact / TOTP secret in txn …
//! ways_in::ensure_one_left(&txn, &account).await?;                  // else 409, rolled back
//! … events, revoke_other_sessions(&txn, …) …
//! txn.commit().await?;
//! ```

use entity::{account, contact, passkey};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::error::ApiError;

/// How many ways in an account has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaysIn {
    pub passkeys: u64,
    pub verified_contacts: u64,
    pub totp: bool,
}

impl WaysIn {
    /// All ways in together; 0 means the account could not be logged in to.
    pub fn total(&self) -> u64 {
        self.passkeys + self.verified_contacts + u64::from(self.totp)
    }
}

/// Count the ways in of `account` as the database has them now (inside a transaction: as that
/// transaction sees them). Only `account.id` is used: TOTP is re-read from the row, so a
/// change made earlier in the same transaction counts.
pub async fn count<C: ConnectionTrait>(db: &C, account: &account::Model) -> Result<WaysIn, DbErr> {
    let passkeys = passkey::Entity::find()
        .filter(passkey::Column::AccountId.eq(account.id))
        .count(db)
        .await?;
    // A contact row exists only once its address was proven (the code sent to it came back).
    let verified_contacts = contact::Entity::find()
        .filter(contact::Column::AccountId.eq(account.id))
        .count(db)
        .await?;
    let totp = account::Entity::find_by_id(account.id)
        .filter(account::Column::TotpEnabledAt.is_not_null())
        .count(db)
        .await?
        > 0;
    Ok(WaysIn {
        passkeys,
        verified_contacts,
        totp,
    })
}

/// Begin the transaction of a removal so that removals of one account happen one after the
/// other. SQLite: `BEGIN IMMEDIATE` takes the database's single write lock at once (SQLite has
/// no `FOR UPDATE`; a deferred transaction could read a snapshot that a concurrent writer then
/// makes stale). PostgreSQL: the account row is locked with `SELECT … FOR NO KEY UPDATE`, so a second
/// removal waits until the first commits and then counts what that one left.
pub async fn begin_removal(
    db: &DatabaseConnection,
    account_id: Uuid,
) -> Result<DatabaseTransaction, DbErr> {
    let backend = db.get_database_backend();
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: (backend == DbBackend::Sqlite)
                .then_some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    if backend == DbBackend::Postgres {
        // FOR NO KEY UPDATE, not FOR UPDATE: it still serialises removals, but it does not
        // conflict with the KEY SHARE lock that a concurrent log-in's session and event inserts
        // take on the account row through their foreign keys. With FOR UPDATE a log-in holding
        // its passkey row and a removal holding the account row would deadlock.
        account::Entity::find_by_id(account_id)
            .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
            .one(&txn)
            .await?;
    }
    Ok(txn)
}

/// After a deletion in the same transaction: 409 `last_method` when no way in is left (the
/// caller drops the transaction, which rolls the deletion back). NIST SP 800-63B §6.1.2: a
/// subscriber may unbind authenticators, but must keep one to authenticate with.
pub async fn ensure_one_left<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
) -> Result<WaysIn, ApiError> {
    let left = count(db, account).await?;
    if left.total() == 0 {
        return Err(ApiError::LastMethod);
    }
    Ok(left)
}
