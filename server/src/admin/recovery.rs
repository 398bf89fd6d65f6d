//! The administrator's recovery link, for a person who lost every way in (all passkeys,
//! contacts and recovery codes): `sesame account recovery USERNAME` issues a single-use link,
//! valid 30 minutes, that lets them add one new passkey and logs them in.
//!
//! ```text
//! operator        sesame account recovery alice        database / mail
//!   |------------------------------------------------->| INSERT ceremony admin_recovery
//!   |  prints <origin>/recover?token=T                  |   (SHA-256(T) only, 30 min);
//!   |                                                   | event admin_recovery_issued;
//!   |                                                   | T emailed to verified addresses
//! browser (the person)            Sesame
//!   | POST /api/v1/recover/start {token: T}             | 1. live link with hash(T)? (400)
//!   |-------------------------------------------------->| 2. INSERT ceremony recover_passkey
//!   |<--------------------------------------------------|    (creation options, 5 min)
//!   | navigator.credentials.create()                    |
//!   | POST /api/v1/recover/finish {ceremony, credential}| 3. DELETE recover_passkey … RETURNING
//!   |-------------------------------------------------->| 4. verify the attestation (401)
//!   |                                                   | 5. one transaction: DELETE the link
//!   |                                                   |    … RETURNING (single use), the
//!   |                                                   |    passkey, events, every old session
//!   |<--------------------------------------------------|    ended, a new session; COMMIT
//! ```
//!
//! Why this shape: the token is a bearer secret with 256 bits from the OS CSPRNG, stored only as
//! its SHA-256 (OWASP ASVS 5.0 V6.4.1: recovery secrets are random, single-use and expire; the
//! hash is useless to a database reader). Opening the link (`start`) does not use it up — a
//! cancelled browser prompt must not cost the person their link — but it can be *finished*
//! once: the link row is consumed with one conditional delete in the transaction that adds the
//! passkey (STYLE "concurrency-safe by construction"). Every other session of the account ends:
//! one of them may be whoever took the person's devices (NIST SP 800-63B rev 4 §4.2 account
//! recovery: notify the subscriber, and bind the new authenticator afresh).

use std::fmt;

use entity::account;
use serde::{Deserialize, Serialize};
use sesame_delivery::OutgoingEmail;
use uuid::Uuid;
use webauthn_rs::prelude::{CredentialID, PasskeyRegistration, RegisterPublicKeyCredential};

use super::{Admin, AdminError, accounts, admin_client, queries};
use crate::{
    clock::rfc3339,
    crypto,
    error::ApiError,
    extract::ClientInfo,
    service::{
        Method, notify,
        passkeys::{self, CEREMONY_TTL_MS, Started},
        sessions::{self, Issued},
    },
    state::AppState,
    store,
};

/// The ceremony kind of an issued link.
pub const KIND: &str = "admin_recovery";
/// The ceremony kind of the passkey registration a link was opened for.
const PASSKEY: &str = "recover_passkey";
/// A link works for 30 minutes.
pub const LINK_TTL_MS: i64 = 30 * 60 * 1000;
/// What the security notice tells the person.
const RECOVERED: &str = "A passkey was added to your account with an administrator's recovery link";
/// Tokens are 43 characters; anything much longer is not one (and is not hashed).
const TOKEN_MAX: usize = 128;

/// What `account recovery` did.
#[derive(Debug, Serialize)]
pub struct IssuedLink {
    pub username: String,
    pub account_id: Uuid,
    /// `<primary origin>/recover?token=…`: a secret; hand it over only to the person.
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
    let (token, hash) = crypto::new_token();
    let expires_at = now + LINK_TTL_MS;
    let txn = store::begin_write(&admin.db).await?;
    queries::delete_ceremonies(&txn, account.id, Some(KIND)).await?;
    let id = Uuid::new_v4();
    store::ceremonies::insert(
        &txn,
        entity::ceremony::Model {
            id,
            kind: KIND.to_owned(),
            account_id: Some(account.id),
            session_id: None,
            username: Some(account.username.clone()),
            state: "{}".to_owned(),
            code_hash: Some(hash),
            attempts: 0,
            created_at: now,
            expires_at,
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

    let link = format!("{}/recover?token={token}", admin.config.primary_origin());
    let (emailed_to, email_problem) = email_link(admin, &account, &link).await?;
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
    if config
        .smtp_url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
    {
        return Ok((
            Vec::new(),
            Some("no SMTP server is configured (SESAME_SMTP_URL)".into()),
        ));
    }
    let sender = sesame_delivery::build_email_sender(
        config.smtp_url.as_deref(),
        config.mail_from.as_deref(),
    )
    .map_err(|e| AdminError::Delivery(e.to_string()))?;
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

#[derive(Serialize, Deserialize)]
struct PasskeyState {
    reg: PasskeyRegistration,
    /// The link this registration was opened with; consumed at finish.
    link: Uuid,
}

/// Step 1 of redeeming: a live link → creation options for a new passkey of its account
/// (the same user handle as the account's other passkeys, those excluded).
#[tracing::instrument(skip_all)]
pub async fn start(state: &AppState, token: &str, now: i64) -> Result<Started, ApiError> {
    if token.is_empty() || token.len() > TOKEN_MAX {
        return Err(ApiError::InvalidCeremony);
    }
    let link = queries::ceremony_by_hash(&state.db, KIND, crypto::token_hash(token), now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let account = match link.account_id {
        Some(id) => store::accounts::find_by_id(&state.db, id).await?,
        None => None,
    }
    .filter(|a| !a.disabled)
    .ok_or(ApiError::InvalidCeremony)?;
    let exclude: Vec<CredentialID> = store::passkeys::list_for_account(&state.db, account.id)
        .await?
        .into_iter()
        .map(|p| p.credential_id)
        .collect();
    let (ccr, reg) = passkeys::creation_options(
        state,
        account.user_handle,
        &account.username,
        &account.display_name,
        exclude,
    )?;
    let mut row = passkeys::ceremony_row(
        PASSKEY,
        Some(account.id),
        None,
        passkeys::to_json(&PasskeyState { reg, link: link.id })?,
        now,
    );
    // Never outlive the link it was opened with.
    row.expires_at = row
        .expires_at
        .min(link.expires_at)
        .min(now + CEREMONY_TTL_MS);
    let ceremony = row.id;
    store::ceremonies::insert(&state.db, row).await?;
    Ok(Started {
        ceremony,
        options: passkeys::options_json(&ccr)?,
    })
}

/// Step 2 of redeeming: verify the new passkey, then consume the link, store the passkey,
/// end the account's other sessions and log the person in — all in one transaction.
#[tracing::instrument(skip_all)]
pub async fn finish(
    state: &AppState,
    ceremony: Uuid,
    credential: &RegisterPublicKeyCredential,
    label: Option<&str>,
    client: &ClientInfo,
    now: i64,
) -> Result<(account::Model, Issued), ApiError> {
    let row = store::ceremonies::take(&state.db, ceremony, PASSKEY, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let saved: PasskeyState = passkeys::from_json(&row.state)?;
    let account_id = row.account_id.ok_or(ApiError::InvalidCeremony)?;
    let key = passkeys::verify_registration(state, credential, &saved.reg)?;
    let facts = passkeys::authenticator_facts(&credential.response.attestation_object);

    let txn = store::begin_write(&state.db).await?;
    // The single use: of concurrent finishes (on any instance) one deletes the row.
    let link = store::ceremonies::take(&txn, saved.link, KIND, now).await?;
    if link.and_then(|l| l.account_id) != Some(account_id) {
        return Err(ApiError::InvalidCeremony);
    }
    let account = store::accounts::find_by_id(&txn, account_id)
        .await?
        .filter(|a| !a.disabled)
        .ok_or(ApiError::InvalidCeremony)?;
    let passkey =
        passkeys::insert_passkey(&txn, &account, &key, &facts, label, client, now).await?;
    let sessions_ended = queries::delete_sessions(&txn, account.id).await?;
    store::accounts::clear_failures(&txn, account.id).await?;
    store::events::insert(
        &txn,
        account.id,
        "recovery_link_used",
        client,
        serde_json::json!({"link_id": saved.link, "passkey_id": passkey.id, "sessions_ended": sessions_ended}),
        now,
    )
    .await?;
    let issued = sessions::complete_login(
        &txn,
        &state.config,
        &account,
        &[Method::Passkey],
        client,
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    notify::security_notice(state, account.id, RECOVERED, client);
    Ok((account, issued))
}
