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
//! state.writer.write(move |conn| async move {
//!     let txn = ways_in::begin_removal(&conn, &removal).await?;  // serialises removals
//!     … delete the passkey / contact / TOTP secret in txn …
//!     ways_in::finish_removal(txn, &removal, event).await          // else 409, rolled back
//! })
//! ```

use entity::{account, contact, passkey};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    db::{Exec, WriteConn, WriteTxn},
    error::ApiError,
    extract::ClientInfo,
    service::account_sessions::{begin_change, revoke_other_sessions},
    store,
};

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

/// Count the ways in of `account_id` as the database has them now (inside a transaction: as
/// that transaction sees them, so a change made earlier in it counts).
pub async fn count<C: Exec>(db: &C, account_id: Uuid) -> Result<WaysIn, DbErr> {
    let passkeys = passkey::Entity::find().filter(passkey::Column::AccountId.eq(account_id));
    // A contact row exists only once its address was proven (the code sent to it came back).
    let contacts = contact::Entity::find().filter(contact::Column::AccountId.eq(account_id));
    let totp = account::Entity::find_by_id(account_id)
        .filter(account::Column::TotpEnabledAt.is_not_null());
    Ok(WaysIn {
        passkeys: store::count(db, passkeys).await?,
        verified_contacts: store::count(db, contacts).await?,
        totp: store::count(db, totp).await? > 0,
    })
}

/// Begin the transaction of a removal so that removals of one account happen one after the
/// other. SQLite: `BEGIN IMMEDIATE` ([`WriteConn::begin`]) takes the database's single write
/// lock at once (SQLite has no `FOR UPDATE`; a deferred transaction could read a snapshot that
/// a concurrent writer then makes stale). PostgreSQL: the account row is locked with
/// `SELECT … FOR NO KEY UPDATE`, so a second removal waits until the first commits and then
/// counts what that one left. The session making the removal must still exist
/// ([`begin_change`]).
pub async fn begin_removal(conn: &WriteConn, removal: &Removal) -> Result<WriteTxn, ApiError> {
    begin_change(conn, removal.account_id, removal.keep).await
}

/// After a deletion in the same transaction: 409 `last_method` when no way in is left (the
/// caller drops the transaction, which rolls the deletion back). NIST SP 800-63B §6.1.2: a
/// subscriber may unbind authenticators, but must keep one to authenticate with.
pub async fn ensure_one_left<C: Exec>(db: &C, account_id: Uuid) -> Result<WaysIn, ApiError> {
    let left = count(db, account_id).await?;
    if left.total() == 0 {
        return Err(ApiError::LastMethod);
    }
    Ok(left)
}

/// Who removes a way in, and how the removal is recorded: `kind` is both the event
/// (`passkey_removed`, `contact_removed`, `totp_disabled`) and the reason of the
/// `session_revoked` event of the other sessions.
pub struct Removal {
    pub account_id: Uuid,
    /// The session making the change, which stays.
    pub keep: Uuid,
    pub kind: &'static str,
    pub client: ClientInfo,
    pub now: i64,
}

/// After the deletion in `txn` (begun by [`begin_removal`]): 409 `last_method` (rolled back)
/// when no way in is left, else record `removal.kind` with `event`, end every other session
/// of the account (ASVS 5.0 V7.4: the sessions end when an authentication factor changes),
/// and commit.
pub async fn finish_removal(
    txn: WriteTxn,
    removal: &Removal,
    event: serde_json::Value,
) -> Result<(), ApiError> {
    let Removal {
        account_id,
        keep,
        kind,
        ref client,
        now,
    } = *removal;
    ensure_one_left(&txn, account_id).await?;
    store::events::insert(&txn, account_id, kind, client, event, now).await?;
    revoke_other_sessions(&txn, account_id, keep, kind, client, now).await?;
    Ok(txn.commit().await?)
}
