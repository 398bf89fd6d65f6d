//! `sesame account show`: one account in detail — its ways in, contacts, sessions, a pending
//! recovery link and recent activity.

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

use super::{
    Admin, AdminError,
    accounts::{find, is_locked},
    queries,
};
use crate::{clock::rfc3339, service::accounts, store};

/// `account show`: the account and its ways in. Contact addresses are shown in full: the
/// operator needs them to reach the person.
#[derive(Debug, Serialize)]
pub struct AccountDetail {
    pub account: accounts::AccountView,
    pub disabled: bool,
    pub locked: bool,
    pub failed_attempts: i32,
    pub locked_until: Option<String>,
    pub passkeys: Vec<PasskeyLine>,
    pub contacts: Vec<ContactLine>,
    pub live_sessions: usize,
    /// When the pending recovery link (if any) stops working.
    pub recovery_link_expires_at: Option<String>,
    /// The ten newest activity events.
    pub recent_events: Vec<EventLine>,
}

#[derive(Debug, Serialize)]
pub struct PasskeyLine {
    pub id: Uuid,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ContactLine {
    pub id: Uuid,
    pub channel: String,
    pub address: String,
    pub verified_at: String,
}

#[derive(Debug, Serialize)]
pub struct EventLine {
    pub at: String,
    pub kind: String,
    pub user_agent: Option<String>,
}

impl fmt::Display for AccountDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.account;
        let status = match (self.disabled, self.locked) {
            (true, _) => "disabled".to_owned(),
            (false, true) => format!(
                "locked ({} failed codes{})",
                self.failed_attempts,
                self.locked_until
                    .as_ref()
                    .map(|u| format!(", until {u}"))
                    .unwrap_or_default()
            ),
            (false, false) => "active".to_owned(),
        };
        writeln!(f, "username:        {}", a.username)?;
        writeln!(f, "display name:    {}", a.display_name)?;
        writeln!(f, "id:              {}", a.id)?;
        writeln!(f, "created:         {}", a.created_at)?;
        writeln!(f, "status:          {status}")?;
        writeln!(
            f,
            "password:        {}",
            if a.password_set { "set" } else { "none" }
        )?;
        writeln!(
            f,
            "authenticator:   {}",
            if a.totp_enabled { "on" } else { "off" }
        )?;
        writeln!(f, "recovery codes:  {} left", a.recovery_codes_remaining)?;
        writeln!(f, "live sessions:   {}", self.live_sessions)?;
        if let Some(until) = &self.recovery_link_expires_at {
            writeln!(f, "recovery link:   pending, until {until}")?;
        }
        writeln!(f, "passkeys ({}):", self.passkeys.len())?;
        for p in &self.passkeys {
            let used = p.last_used_at.as_deref().unwrap_or("never used");
            writeln!(
                f,
                "  {}  {}  added {}, last {}",
                p.id, p.label, p.created_at, used
            )?;
        }
        writeln!(f, "contacts ({}):", self.contacts.len())?;
        for c in &self.contacts {
            writeln!(
                f,
                "  {}  {} {}  verified {}",
                c.id, c.channel, c.address, c.verified_at
            )?;
        }
        writeln!(f, "recent activity:")?;
        for e in &self.recent_events {
            let by = e.user_agent.as_deref().unwrap_or("-");
            writeln!(f, "  {}  {}  ({by})", e.at, e.kind)?;
        }
        Ok(())
    }
}

/// One account in detail.
pub async fn show(admin: &Admin, username: &str, now: i64) -> Result<AccountDetail, AdminError> {
    let account = find(admin, username).await?;
    let db = &admin.db;
    let passkeys = store::passkeys::list_for_account(db, account.id)
        .await?
        .into_iter()
        .map(|p| PasskeyLine {
            id: p.id,
            label: p.label,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        })
        .collect();
    let contacts = store::contacts::list_for_account(db, account.id)
        .await?
        .into_iter()
        .map(|c| ContactLine {
            id: c.id,
            channel: c.channel,
            address: c.address,
            verified_at: rfc3339(c.verified_at),
        })
        .collect();
    let live_sessions = store::sessions::list_for_account(db, account.id, now)
        .await?
        .len();
    let link = queries::live_ceremony(db, account.id, super::recovery::KIND, now).await?;
    let recent_events = store::events::list(db, account.id, 10, None)
        .await?
        .into_iter()
        .map(|e| EventLine {
            at: rfc3339(e.at),
            kind: e.kind,
            user_agent: e.user_agent,
        })
        .collect();
    Ok(AccountDetail {
        account: accounts::view(
            crate::db::Reads::pooled(&crate::db::ReadPool::new(db.clone())),
            &account,
        )
        .await?,
        disabled: account.disabled,
        locked: is_locked(&account, now),
        failed_attempts: account.failed_attempts,
        locked_until: account.locked_until.filter(|u| *u > now).map(rfc3339),
        passkeys,
        contacts,
        live_sessions,
        recovery_link_expires_at: link.map(|l| rfc3339(l.expires_at)),
        recent_events,
    })
}
