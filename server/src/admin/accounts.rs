//! `sesame account list|disable|enable|unlock|delete` (`show` is in `account_show`).

use std::fmt;

use entity::account;
use serde::Serialize;
use uuid::Uuid;

use super::{Admin, AdminError, admin_client, queries, table};
use crate::{clock::rfc3339, service::codes::lockout, store};

/// Find an account by its username (normalised as at sign-up).
pub async fn find(admin: &Admin, username: &str) -> Result<account::Model, AdminError> {
    let name = crate::service::username::normalize(username)
        .map_err(|_| AdminError::NoSuchAccount(username.to_owned()))?;
    store::accounts::find_by_username(&admin.db, &name)
        .await?
        .ok_or_else(|| AdminError::NoSuchAccount(username.to_owned()))
}

/// Is code log-in blocked for this account at `now` (throttled or hard-locked)?
pub(super) fn is_locked(account: &account::Model, now: i64) -> bool {
    lockout::check(account, now).is_err()
}

/// One line of `account list`.
#[derive(Debug, Serialize)]
pub struct AccountSummary {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub created_at: String,
    pub disabled: bool,
    pub locked: bool,
    pub failed_attempts: i32,
    pub passkeys: i64,
    pub contacts: i64,
}

/// `account list`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct AccountList(pub Vec<AccountSummary>);

impl fmt::Display for AccountList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "no accounts");
        }
        let mut rows = vec![
            [
                "USERNAME", "STATUS", "PASSKEYS", "CONTACTS", "CREATED", "ID",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for a in &self.0 {
            let status = match (a.disabled, a.locked) {
                (true, _) => "disabled",
                (false, true) => "locked",
                (false, false) => "active",
            };
            rows.push(vec![
                a.username.clone(),
                status.into(),
                a.passkeys.to_string(),
                a.contacts.to_string(),
                a.created_at.clone(),
                a.id.to_string(),
            ]);
        }
        f.write_str(&table(&rows))
    }
}

/// Every account, by username.
pub async fn list(admin: &Admin, now: i64) -> Result<AccountList, AdminError> {
    let passkeys = queries::passkey_counts(&admin.db).await?;
    let contacts = queries::contact_counts(&admin.db).await?;
    let accounts = queries::all_accounts(&admin.db).await?;
    Ok(AccountList(
        accounts
            .into_iter()
            .map(|a| AccountSummary {
                locked: is_locked(&a, now),
                passkeys: passkeys.get(&a.id).copied().unwrap_or(0),
                contacts: contacts.get(&a.id).copied().unwrap_or(0),
                id: a.id,
                created_at: rfc3339(a.created_at),
                disabled: a.disabled,
                failed_attempts: a.failed_attempts,
                username: a.username,
                display_name: a.display_name,
            })
            .collect(),
    ))
}

/// What a state-changing command did.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub username: String,
    pub account_id: Uuid,
    /// `disabled`, `enabled`, `unlocked`, `deleted`.
    pub action: &'static str,
    /// False when the account already was so (disabled, enabled, not locked): nothing was
    /// changed and no event recorded.
    pub changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_ended: Option<u64>,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let already = if self.changed { "" } else { "already " };
        write!(f, "{}: {already}{}", self.username, self.action)?;
        if let Some(n) = self.sessions_ended {
            write!(f, "; {n} session(s) ended")?;
        }
        writeln!(f)
    }
}

/// Disable the account: it cannot log in, its sessions end at once, its known devices are
/// forgotten (enabled again, it starts with none), and its unfinished ceremonies (a pending
/// recovery link included) are dropped.
pub async fn disable(admin: &Admin, username: &str, now: i64) -> Result<Changed, AdminError> {
    let account = find(admin, username).await?;
    let txn = store::begin_write(&admin.db).await?;
    // Deleted meanwhile (another admin command): no such account, as if found so.
    if store::accounts::lock(&txn, account.id).await?.is_none() {
        return Err(AdminError::NoSuchAccount(username.to_owned()));
    }
    let disabled = queries::set_disabled(&txn, account.id, true).await?;
    // Already disabled: its sessions and ceremonies are ended again all the same (a log-in
    // that read the account just before an earlier disable may have left one).
    let ended = store::sessions::delete_all(&txn, account.id).await?;
    store::devices::forget(&txn, account.id).await?;
    queries::delete_ceremonies(&txn, account.id, None).await?;
    if disabled || ended > 0 {
        store::events::insert(
            &txn,
            account.id,
            "account_disabled",
            &admin_client(),
            serde_json::json!({"sessions_ended": ended}),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(changed(account, "disabled", disabled, Some(ended)))
}

/// Enable a disabled account again. No session of it can be valid: the disable ended them
/// all and log-ins refuse a disabled account. One a log-in made while the disable committed
/// (it read the account just before) is ended here, so it does not come back to life.
pub async fn enable(admin: &Admin, username: &str, now: i64) -> Result<Changed, AdminError> {
    let account = find(admin, username).await?;
    let txn = store::begin_write(&admin.db).await?;
    let enabled = queries::set_disabled(&txn, account.id, false).await?;
    if enabled {
        store::sessions::delete_all(&txn, account.id).await?;
        store::events::insert(
            &txn,
            account.id,
            "account_enabled",
            &admin_client(),
            serde_json::json!({}),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(changed(account, "enabled", enabled, None))
}

/// Clear the code lock-out (`failed_attempts`, `locked_until`; `service::codes::lockout`),
/// e.g. after the person proved who they are another way.
pub async fn unlock(admin: &Admin, username: &str, now: i64) -> Result<Changed, AdminError> {
    let account = find(admin, username).await?;
    let txn = store::begin_write(&admin.db).await?;
    let cleared = store::accounts::clear_failures(&txn, account.id).await?;
    if cleared {
        store::events::insert(
            &txn,
            account.id,
            "lockout_cleared",
            &admin_client(),
            serde_json::json!({"failed_attempts": account.failed_attempts}),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(changed(account, "unlocked", cleared, None))
}

/// Delete the account and everything of it (passkeys, sessions, contacts, recovery codes,
/// events, unfinished ceremonies). Irreversible; `main.rs` asks for `--yes`.
///
/// The account's own security activity goes with it, so the deletion is written to the log
/// instead (a warning, which the commands' default filter shows on stderr): which account,
/// and when (OWASP ASVS 5.0 V16.3: security events are logged).
pub async fn delete(admin: &Admin, username: &str) -> Result<Changed, AdminError> {
    let account = find(admin, username).await?;
    let txn = store::begin_write(&admin.db).await?;
    // The account row first, the order every change of an account takes its rows in
    // (`account_sessions::begin_change`): a change under way finishes, or waits and finds the
    // account gone; neither waits on the other in a cycle.
    store::accounts::lock(&txn, account.id).await?;
    let ended = store::sessions::delete_all(&txn, account.id).await?;
    queries::delete_ceremonies(&txn, account.id, None).await?;
    if !queries::delete_account(&txn, account.id).await? {
        return Err(AdminError::NoSuchAccount(username.to_owned()));
    }
    txn.commit().await?;
    tracing::warn!(
        account_id = %account.id,
        username = %account.username,
        sessions_ended = ended,
        "account deleted by an administrator"
    );
    Ok(changed(account, "deleted", true, Some(ended)))
}

fn changed(
    account: account::Model,
    action: &'static str,
    changed: bool,
    sessions_ended: Option<u64>,
) -> Changed {
    Changed {
        username: account.username,
        account_id: account.id,
        action,
        changed,
        sessions_ended,
    }
}
