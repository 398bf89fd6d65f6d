//! Issuing a link (`sesame account recovery USERNAME`) and emailing it.

use std::fmt;

use entity::account;
use serde::Serialize;
use sesame_delivery::OutgoingEmail;
use uuid::Uuid;

use super::{KIND, LINK_TTL_MS};
use crate::{
    admin::{Admin, AdminError, accounts, admin_client, queries},
    clock::rfc3339,
    crypto, store,
};

/// What `account recovery` did.
#[derive(Debug, Serialize)]
pub struct IssuedLink {
    pub username: String,
    pub account_id: Uuid,
    /// `<primary origin>/recover#token=…`: a secret; hand it over only to the person. In the
    /// fragment, which browsers never send: no proxy's access log records it.
    pub link: String,
    pub expires_at: String,
    /// The verified email addresses the link was sent to.
    pub emailed_to: Vec<String>,
    /// Why it was not (or not everywhere) emailed, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_problem: Option<String>,
}

impl fmt::Display for IssuedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "recovery link for {} (single use, valid until {}):",
            self.username, self.expires_at
        )?;
        writeln!(f, "{}", self.link)?;
        if self.emailed_to.is_empty() {
            writeln!(
                f,
                "not emailed; give it to the person yourself, once you know it is them"
            )?;
        } else {
            writeln!(f, "emailed to {}", self.emailed_to.join(", "))?;
        }
        if let Some(problem) = &self.email_problem {
            writeln!(f, "note: {problem}")?;
        }
        writeln!(
            f,
            "any earlier recovery link of this account no longer works"
        )
    }
}

/// Issue a link for `username`: replaces any earlier one, records `admin_recovery_issued` and
/// emails it to the account's verified email addresses (when SMTP is configured).
pub async fn issue(admin: &Admin, username: &str, now: i64) -> Result<IssuedLink, AdminError> {
    let account = accounts::find(admin, username).await?;
    if account.disabled {
        return Err(AdminError::Refused(format!(
            "{} is disabled; `sesame account enable {}` first",
            account.username, account.username
        )));
    }
    // The sender first: a delivery setting that cannot work must stop the command before the
    // earlier link is replaced, not after a new one nobody got.
    let sender = if admin.config.smtp_configured() {
        Some(
            sesame_delivery::build_email_sender(
                admin.config.smtp_url.as_deref(),
                admin.config.mail_from.as_deref(),
            )
            .map_err(|e| AdminError::Delivery(e.to_string()))?,
        )
    } else {
        None
    };
    let (token, hash) = crypto::new_token();
    let expires_at = now + LINK_TTL_MS;
    let txn = store::begin_write(&admin.db).await?;
    // Under the account's lock, like every change of an account: two commands at once leave
    // one link (on PostgreSQL each delete would otherwise miss the other's uncommitted row),
    // and the removal of an email address, which ends the link sent there, waits for this
    // one to commit and then sees it.
    store::accounts::lock(&txn, account.id).await?;
    queries::delete_ceremonies(&txn, account.id, Some(KIND)).await?;
    let id = Uuid::new_v4();
    store::ceremonies::insert(
        &txn,
        entity::ceremony::Model {
            id,
            account_id: Some(account.id),
            username: Some(account.username.clone()),
            code_hash: Some(hash),
            ..crate::service::new_ceremony(KIND, "{}".to_owned(), now, expires_at - now)
        },
    )
    .await?;
    store::events::insert(
        &txn,
        account.id,
        "admin_recovery_issued",
        &admin_client(),
        serde_json::json!({"link_id": id, "expires_at": rfc3339(expires_at)}),
        now,
    )
    .await?;
    txn.commit().await?;

    let link = format!("{}/recover#token={token}", admin.config.primary_origin());
    let (emailed_to, email_problem) = email_link(admin, sender, &account, &link).await?;
    Ok(IssuedLink {
        username: account.username,
        account_id: account.id,
        link,
        expires_at: rfc3339(expires_at),
        emailed_to,
        email_problem,
    })
}

/// Send the link to every verified email address of the account. Without SMTP nothing is
/// sent: the development log sender would write the link into the log.
async fn email_link(
    admin: &Admin,
    sender: Option<std::sync::Arc<dyn sesame_delivery::EmailSender>>,
    account: &account::Model,
    link: &str,
) -> Result<(Vec<String>, Option<String>), AdminError> {
    let addresses: Vec<String> = store::contacts::list_for_account(&admin.db, account.id)
        .await?
        .into_iter()
        .filter(|c| c.channel == "email")
        .map(|c| c.address)
        .collect();
    if addresses.is_empty() {
        return Ok((
            Vec::new(),
            Some("the account has no verified email address".into()),
        ));
    }
    let config = &admin.config;
    let Some(sender) = sender else {
        return Ok((
            Vec::new(),
            Some("no SMTP server is configured (SESAME_SMTP_URL)".into()),
        ));
    };
    let mut sent = Vec::new();
    let mut failed = Vec::new();
    for address in addresses {
        let mail = OutgoingEmail::new(
            address.clone(),
            email(&config.rp_name, &account.username, link),
        );
        match sender.send(mail).await {
            Ok(()) => sent.push(address),
            Err(_) => failed.push(address),
        }
    }
    let problem = (!failed.is_empty()).then(|| format!("could not email {}", failed.join(", ")));
    Ok((sent, problem))
}

/// `(subject, text, html)` of the recovery email.
fn email(rp_name: &str, username: &str, link: &str) -> (String, String, String) {
    let minutes = LINK_TTL_MS / 60_000;
    let subject = format!("Your {rp_name} recovery link");
    let text = format!(
        "An administrator of {rp_name} made this link for you to add a new passkey to your \
         account {username}:\n\n{link}\n\nIt works once, for {minutes} minutes. If you did not \
         ask for it, do not open it, and tell your administrator.\n"
    );
    let h = html_escape;
    let html = format!(
        "<p>An administrator of {} made this link for you to add a new passkey to your account \
         <b>{}</b>:</p>\n<p><a href=\"{}\">Add a passkey</a></p>\n<p>It works once, for \
         {minutes} minutes. If you did not ask for it, do not open it, and tell your \
         administrator.</p>\n",
        h(rp_name),
        h(username),
        h(link)
    );
    (subject, text, html)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
