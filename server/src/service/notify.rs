//! Security notices: the account holder hears about every change to how the account can be
//! entered, and about log-ins from a device not seen before, at every verified email address of
//! the account, or by text at its verified numbers when it has no email address (NIST SP
//! 800-63B §6.1.2: the subscriber is notified when an authenticator is bound or removed; OWASP
//! ASVS 5.0 V6.3.7: users are notified of changes to their authentication details).
//!
//! A notice is sent *after* the change has committed, in a task of its own: a slow or broken
//! mail server never delays or undoes the change, and a failure is logged without the address.

use entity::account;
use sesame_delivery::{DeliveryError, OutgoingEmail, security_notice_email, security_notice_sms};
use tracing::Instrument;
use uuid::Uuid;

mod recipients;
use recipients::{Changed, Channel, Recipient, recipients};

use crate::{
    clock::rfc3339, extract::ClientInfo, service::codes, service::device::Device, state::AppState,
    store,
};

/// `what` for a passkey added to an existing account.
pub const PASSKEY_ADDED: &str = "A passkey was added to your account";
/// `what` for a passkey removed from the account.
pub const PASSKEY_REMOVED: &str = "A passkey was removed from your account";
/// `what` for a log-in from a device (user agent and IP address) not seen before.
pub const NEW_DEVICE_LOGIN: &str = "Someone signed in to your account from a new device";

/// Tell the account holder that `what` just happened (e.g. [`PASSKEY_ADDED`]), with the time,
/// IP address and device of `client`. Call it after the transaction has committed; it returns
/// at once and sends in the background.
pub fn security_notice(
    state: &AppState,
    account_id: Uuid,
    what: &'static str,
    client: &ClientInfo,
) {
    notice(state, account_id, what, client, Changed::Other);
}

/// `what` for a contact removed from the account.
pub const CONTACT_REMOVED: &str = "A contact was removed from your account";
/// `what` for a contact added to the account.
pub const CONTACT_ADDED: &str = "A contact was added to your account";

/// [`CONTACT_REMOVED`], to the account's contacts and to the removed one too: it is no longer
/// the account's, but its owner is the one to hear that it was taken off (NIST SP 800-63B
/// §6.1.2.3: the subscriber is notified of a removal; the only address may be the one removed).
pub fn contact_removed(
    state: &AppState,
    account_id: Uuid,
    removed: &entity::contact::Model,
    client: &ClientInfo,
) {
    let changed = Changed::Removed(Recipient::former(removed));
    notice(state, account_id, CONTACT_REMOVED, client, changed);
}

/// [`CONTACT_ADDED`], by the channel the account's other contacts choose: an email address
/// added to an account of numbers (perhaps by whoever took it over) is texted to the numbers,
/// not sent to itself alone. A contact the account had, proven again (`new` false), changes
/// nothing: its contacts choose as for any other change.
pub fn contact_added(
    state: &AppState,
    account_id: Uuid,
    contact: &entity::contact::Model,
    new: bool,
    client: &ClientInfo,
) {
    let changed = if new {
        Changed::Added(contact.id)
    } else {
        Changed::Other
    };
    notice(state, account_id, CONTACT_ADDED, client, changed);
}

fn notice(
    state: &AppState,
    account_id: Uuid,
    what: &'static str,
    client: &ClientInfo,
    changed: Changed,
) {
    let when = state.now();
    let state = state.clone();
    let client = client.clone();
    // The request's span (and so its request id) follows the notice into the background task.
    state.background.clone().spawn(
        async move { send(&state, account_id, what, &client, when, changed).await }
            .instrument(tracing::Span::current()),
    );
}

/// After a successful log-in (committed), send [`NEW_DEVICE_LOGIN`] when the account has no
/// earlier `login` event from the same user agent and IP address among its
/// [`store::events::NEW_DEVICE_WINDOW`] most recent events. `now` must be the log-in's
/// own time stamp (the one its `login` event carries), so that event is not counted as
/// "earlier". Re-authentications and sign-ups do not need it; calling it for them is harmless.
pub fn login_from_new_device(
    state: &AppState,
    account: &account::Model,
    client: &ClientInfo,
    now: i64,
) {
    let state = state.clone();
    let client = client.clone();
    let account_id = account.id;
    state.background.clone().spawn(
        async move {
        match store::events::has_login_from(
            state.read_side(),
            account_id,
            &client,
            now,
            store::events::NEW_DEVICE_WINDOW,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                let changed = Changed::Other;
                send(&state, account_id, NEW_DEVICE_LOGIN, &client, now, changed).await;
            }
            Err(e) => {
                tracing::warn!(%account_id, error = %e, "new-device check failed; no notice sent");
            }
        }
    }
    .instrument(tracing::Span::current()),
    );
}

/// How many security notices are texted, to one account's numbers and to one number (whatever
/// the accounts it is on): past either, none is sent until there is room (nothing tells the
/// client). Texts cost money, and a notice is something anyone who holds an account can cause
/// (a new-device log-in, new recovery codes): without a limit an account's numbers, or one
/// number put on many accounts, could be texted at the request rate (SMS pumping, toll fraud;
/// OWASP ASVS 5.0 V2.4.1). The notice to a number just removed has a limit of its own, so that
/// cheap notices sent first cannot use up the one that tells its owner.
pub const SMS_NOTICES: codes::QuietLimit = codes::QuietLimit {
    per_hour: 5,
    per_day: 10,
};

/// `what` to the account's [`recipients`].
#[tracing::instrument(skip_all, fields(%account_id))]
async fn send(
    state: &AppState,
    account_id: Uuid,
    what: &str,
    client: &ClientInfo,
    when: i64,
    changed: Changed,
) {
    let contacts = match store::contacts::list_for_account(&state.reads, account_id).await {
        Ok(contacts) => contacts,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read contacts; security notice not sent");
            return;
        }
    };
    // Only what the parser recognised: a raw user agent is text of the signer's own choosing
    // ("this was our automatic check, nothing to do"), which a warning must not repeat. The
    // activity list keeps the raw string.
    let device = Device::from_user_agent(client.user_agent.as_deref())
        .describe()
        .unwrap_or_else(|| "not recognised".to_owned());
    let when_text = rfc3339(when);
    for to in recipients(contacts, changed) {
        let sent = match to.channel {
            Channel::Email => {
                let mail = OutgoingEmail::new(
                    to.address,
                    security_notice_email(
                        what,
                        &when_text,
                        client.ip.as_deref(),
                        Some(device.as_str()),
                        &state.config.rp_name,
                    ),
                );
                state.email.send(mail).await
            }
            Channel::Sms => {
                if !may_text(state, account_id, &to, when).await {
                    tracing::warn!(contact_id = ?to.contact_id, "security notice not texted: past the limit of notice texts");
                    continue;
                }
                let body = security_notice_sms(what, &when_text, &state.config.rp_name);
                state.sms.send(&to.address, &body).await
            }
        };
        if let Err(e) = sent {
            // The error text may quote the provider's reply, which can name the address: log
            // only its kind.
            let kind = match e {
                DeliveryError::Config(_) => "configuration",
                DeliveryError::Unavailable(_) => "unavailable",
            };
            tracing::warn!(contact_id = ?to.contact_id, kind, "security notice not delivered");
        }
    }
}

/// Whether `to` may be texted one more notice ([`SMS_NOTICES`], per account and per number; a
/// number no longer the account's under a limit of its own); the text is counted when it may.
/// Checked and counted in one write transaction, so notices sent at once are counted one after
/// the other (`codes::take_quiet_sends`). A failed write sends nothing.
async fn may_text(state: &AppState, account_id: Uuid, to: &Recipient, now: i64) -> bool {
    let targets = if to.contact_id.is_some() {
        vec![
            format!("notice-texts:{account_id}"),
            format!("notice-texts-to:{}", to.address),
        ]
    } else {
        vec![format!("notice-texts-removed:{}", to.address)]
    };
    let taken = state
        .writer
        .write(move |conn| async move {
            let txn = conn.begin().await?;
            let ok = codes::take_quiet_sends(&txn, targets, SMS_NOTICES, now).await?;
            txn.commit().await?;
            Ok(ok)
        })
        .await;
    taken.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot count the notice texts; none sent");
        false
    })
}
