//! Sign-up and log-in with a one-time code: an emailed or texted code, a TOTP code from an
//! authenticator app, or a recovery code — with the password too when the account has one.
//!
//! Every failed proof (unknown user, wrong password, wrong or used code, a method the account
//! lacks) gives the same `invalid_code` answer (NIST SP 800-63B rev 4 §3.2.2; OWASP ASVS 5.0
//! V6.3.8) and counts against the account's lock-out.

mod proof;
mod session;

use serde::{Deserialize, Serialize};
use sesame_delivery::CodePurpose;
use tracing::Instrument;
use uuid::Uuid;

use super::{
    Method,
    codes::{self, Channel, lockout},
    sessions::{Authenticated, Issued},
};
pub(crate) use super::{from_json, to_json};
use crate::{error::ApiError, extract::ClientInfo, state::AppState, store};
use proof::{Consume, check_code, fail, password_ok};
use session::{Proven, issue_session};

const LOGIN: &str = "login_code";

/// A code log-in method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CodeMethod {
    Totp,
    Email,
    Sms,
    Recovery,
}

impl CodeMethod {
    fn method(self) -> Method {
        match self {
            Self::Totp => Method::Totp,
            Self::Email => Method::Email,
            Self::Sms => Method::Sms,
            Self::Recovery => Method::Recovery,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct LoginState {
    method: CodeMethod,
}

/// Log-in step 1: always 202 with a ceremony. For an email/SMS method of a real account a code
/// is sent, after the answer, to its most recent verified contact of that channel; for an
/// unknown user or a method the account lacks nothing is sent and finishing fails like a
/// wrong code. `known_device` says whether the request proves that its browser signed in to
/// an account (its id, its device generation) before (`service::known_device`).
#[tracing::instrument(skip_all)]
pub async fn login_start(
    state: &AppState,
    raw_username: &str,
    method: CodeMethod,
    known_device: impl Fn(Uuid, i32) -> bool,
    now: i64,
) -> Result<Uuid, ApiError> {
    let username = super::username::normalize(raw_username).ok();
    // A disabled account is treated like an unknown one: nothing is sent to it.
    let account = match &username {
        Some(name) => store::accounts::find_by_username(&state.reads, name)
            .await?
            .filter(|a| !a.disabled),
        None => None,
    };
    let id = Uuid::new_v4();
    let row = entity::ceremony::Model {
        id,
        account_id: account.as_ref().map(|a| a.id),
        ..super::new_ceremony(
            LOGIN,
            to_json(&LoginState { method })?,
            now,
            codes::CODE_TTL_MS,
        )
    };
    let channel = match method {
        CodeMethod::Email => Some(Channel::Email),
        CodeMethod::Sms => Some(Channel::Sms),
        CodeMethod::Totp | CodeMethod::Recovery => None,
    };
    let (Some(channel), Some(name)) = (channel, &username) else {
        // Nothing to send: the authenticator app or a recovery code, or a name that no
        // account can have.
        crate::service::save_ceremony(state, row).await?;
        return Ok(id);
    };
    // The same work follows for every username, with or without an account or a contact (a
    // nil id finds nothing), so the answer's time does not tell them apart.
    let account_id = account.as_ref().map_or(Uuid::nil(), |a| a.id);
    // The resend limit is keyed on the username and channel, known or not, so a 429 here
    // reveals nothing about the account. A browser that signed in to this account before
    // counts against a limit of its own, which the account's known devices share, so others
    // using up the first one do not keep the owner out there (OWASP device cookies).
    let generation = store::devices::generation(&state.reads, account_id).await?;
    let known = known_device(account_id, generation) && account.is_some();
    let limit = if known { ":known" } else { "" };
    codes::allow_send(
        state,
        &format!("login:{name}:{}{limit}", channel.as_str()),
        now,
    )
    .await?;
    // A channel with no sender configured is like having no contact there: 202, nothing
    // sent (API.md: `code/start` answers 202 always).
    let configured = match channel {
        Channel::Email => state.email.configured(),
        Channel::Sms => state.sms.configured(),
    };
    let contact = if configured {
        store::contacts::latest_of_channel(&state.reads, account_id, channel.as_str()).await?
    } else {
        None
    };
    let (code, hash) = codes::new_code(state, id);
    let contact_id = contact.as_ref().map_or(Uuid::nil(), |c| c.id);
    let saved = save_with_code(state, row, (account_id, contact_id), channel, hash, now).await?;
    if let Some(address) = saved {
        send_after_answer(state, channel, address, code);
    }
    Ok(id)
}

/// At most this many log-in codes are being sent at once; past it a code is not sent (and
/// counted as a failed delivery), so a flood of starts cannot pile up sending tasks.
const SENDS_IN_FLIGHT: usize = 256;
static SENDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(SENDS_IN_FLIGHT);

/// Send a log-in code after the answer, so the answer takes as long, and says the same,
/// whether or not a code goes out: waiting for the SMTP server or SMS gateway would show in the
/// time which accounts have an address of that kind, and a refused send (503) would show it
/// outright (API.md: `code/start` answers 202 always). A send that fails is counted
/// (`sesame_code_delivery_failures_total`) and logged, without the code or the address; its
/// ceremony expires unused, and the person asks again.
fn send_after_answer(state: &AppState, channel: Channel, address: String, code: String) {
    let Ok(permit) = SENDING.try_acquire() else {
        crate::telemetry::metrics::code_delivery(channel.as_str(), false);
        tracing::warn!(
            limit = SENDS_IN_FLIGHT,
            "too many log-in codes being sent at once; this one was not sent"
        );
        return;
    };
    let sender = state.clone();
    state.background.spawn(
        async move {
            // Given back however the send ends (a panic too).
            let _sending = permit;
            let _ = codes::deliver(&sender, channel, &address, CodePurpose::LogIn, &code).await;
        }
        .instrument(tracing::Span::current()),
    );
}

/// Log-in codes one address is sent in an hour, whatever the accounts and devices asking:
/// twice the limit per username (anyone's, and the account's known devices'), so it only
/// binds an address that several accounts share.
const LOGIN_CODES_PER_ADDRESS: usize = 10;

/// Save a log-in ceremony with the hash of the code to send, in one transaction with a fresh
/// read of the contact it goes to (`store::contacts::hold`); the address to send to, or `None`
/// when there is no such contact (a nil id), it was removed meanwhile, or the address had its
/// [`LOGIN_CODES_PER_ADDRESS`] this hour: the ceremony is then saved without a code, nothing
/// is sent, and finishing fails like a wrong code. A removal that commits after this
/// transaction ends the ceremony ([`end_sent_code_logins`]), so a code sent to a removed
/// address never signs in (NIST SP 800-63B rev 4 §3.1.3: an out-of-band secret goes only to
/// an address bound to the account).
async fn save_with_code(
    state: &AppState,
    mut row: entity::ceremony::Model,
    (account_id, contact_id): (Uuid, Uuid),
    channel: Channel,
    hash: Vec<u8>,
    now: i64,
) -> Result<Option<String>, ApiError> {
    state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            let mut contact = store::contacts::hold(&txn, account_id, contact_id).await?;
            if let Some(held) = &contact {
                let target = format!("login-to:{}:{}", channel.as_str(), held.address);
                if !codes::take_quiet_send(&txn, &target, LOGIN_CODES_PER_ADDRESS, now).await? {
                    contact = None;
                }
            }
            if contact.is_some() {
                row.code_hash = Some(hash);
            }
            store::ceremonies::insert(&txn, row).await?;
            txn.commit().await?;
            Ok(contact.map(|c| c.address))
        })
        .await
}

/// Inside the transaction that removes a contact: end the account's pending log-ins by an
/// emailed or texted code, so a code already sent to the removed address cannot sign in (only
/// those ceremonies carry a code the server sent; TOTP and recovery codes are checked against
/// the account when they are used).
pub(crate) async fn end_sent_code_logins<C: crate::db::Exec>(
    db: &C,
    account_id: Uuid,
) -> Result<(), sea_orm::DbErr> {
    store::ceremonies::delete_sent_codes(db, account_id, LOGIN).await
}

/// What a code log-in's finish was sent.
pub struct Attempt<'a> {
    pub ceremony: Uuid,
    pub code: &'a str,
    /// For an account with a password.
    pub password: Option<&'a str>,
}

/// Log-in step 2: charge the try to the account's lock-out (past its back-off when the request
/// proves a known device of the account, `known_device`), check the password (when the account
/// has one) and the code; then, in one transaction, consume the ceremony and the single-use
/// proof and issue the session.
#[tracing::instrument(skip_all)]
pub async fn login_finish(
    state: &AppState,
    attempt: Attempt<'_>,
    client: &ClientInfo,
    known_device: impl Fn(Uuid, i32) -> bool,
    current: Option<&Authenticated>,
    now: i64,
) -> Result<(entity::account::Model, Issued), ApiError> {
    let Attempt {
        ceremony,
        code,
        password: password_given,
    } = attempt;
    let row = store::ceremonies::find_live(&state.reads, ceremony, LOGIN, now)
        .await?
        .ok_or(ApiError::InvalidCeremony)?;
    let saved: LoginState = from_json(&row.state)?;
    let account = match row.account_id {
        Some(id) => store::accounts::find_by_id(&state.reads, id).await?,
        None => None,
    };
    // The try is counted before anything is checked (see `lockout::charge`); past the
    // back-off when this browser proves a known device of the account, so others' failures do
    // not keep its owner out there.
    let charged = match &account {
        Some(account) => {
            let generation = store::devices::generation(&state.reads, account.id).await?;
            let known = known_device(account.id, generation);
            Some(lockout::charge(state, account.id, known, now).await?)
        }
        None => None,
    };

    let password_ok = password_ok(account.as_ref(), password_given).await?;
    let proof = match &account {
        Some(account) if password_ok => {
            check_code(state, &row, account, saved.method, code, now).await?
        }
        _ => None,
    };
    // An account's try was charged (`charged` is `Some` whenever `account` is).
    let Some(((account, consume), charged)) = account.zip(proof).zip(charged.clone()) else {
        return Err(fail(state, &row, client, now, saved.method, charged.as_ref()).await);
    };
    if account.disabled {
        return Err(fail(state, &row, client, now, saved.method, Some(&charged)).await);
    }

    let mut methods = Vec::new();
    if account.password_hash.is_some() {
        methods.push(Method::Password);
    }
    methods.push(saved.method.method());
    let proven = Proven {
        ceremony,
        account: account.clone(),
        consume,
        methods,
        now,
    };
    let written = issue_session(state, proven, client, current).await;
    let Some(issued) = lockout::settle(state, account.id, &charged, written).await? else {
        // The TOTP step or recovery code was used by a concurrent log-in meanwhile, or the
        // account's password or disabling changed since it was read.
        return Err(fail(state, &row, client, now, saved.method, Some(&charged)).await);
    };
    // Counted once committed: a transaction rolled back above took nothing.
    crate::telemetry::metrics::ceremony_finished(LOGIN);
    if current.is_none() {
        super::notify::login_from_new_device(state, &account, client, now);
    }
    if matches!(consume, Consume::RecoveryCode(_)) {
        super::notify::security_notice(
            state,
            account.id,
            "A recovery code was used to sign in",
            client,
        );
    }
    crate::telemetry::metrics::login_succeeded(saved.method.method().as_str());
    Ok((account, issued))
}

pub use super::code_signup::{signup_finish, signup_start};
