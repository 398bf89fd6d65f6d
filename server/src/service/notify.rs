//! Security notices by email: the account holder hears about every change to how the account
//! can be entered, and about log-ins from a device not seen before, at every verified email
//! address of the account (NIST SP 800-63B §6.1.2: the subscriber is notified when an
//! authenticator is bound or removed; OWASP ASVS 5.0 V6.3.7: users are notified of changes to
//! their authentication details).
//!
//! A notice is sent *after* the change has committed, in a task of its own: a slow or broken
//! mail server never delays or undoes the change, and a failure is logged without the address.

use entity::account;
use sesame_delivery::{DeliveryError, OutgoingEmail, security_notice_email};
use tracing::Instrument;
use uuid::Uuid;

use crate::{clock::rfc3339, extract::ClientInfo, service::device::Device, state::AppState, store};

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
    notice(state, account_id, what, client, None);
}

/// `what` for a contact removed from the account.
pub const CONTACT_REMOVED: &str = "A contact was removed from your account";

/// [`CONTACT_REMOVED`], to the account's email addresses and to the removed one too, when it
/// was an email address: it is no longer the account's, but its owner is the one to hear that
/// it was taken off (NIST SP 800-63B §6.1.2.3: the subscriber is notified of a removal; the
/// only address may be the one removed).
pub fn contact_removed(
    state: &AppState,
    account_id: Uuid,
    removed: &entity::contact::Model,
    client: &ClientInfo,
) {
    let also = (removed.channel == "email").then(|| removed.address.clone());
    notice(state, account_id, CONTACT_REMOVED, client, also);
}

fn notice(
    state: &AppState,
    account_id: Uuid,
    what: &'static str,
    client: &ClientInfo,
    also: Option<String>,
) {
    let when = state.now();
    let state = state.clone();
    let client = client.clone();
    // The request's span (and so its request id) follows the notice into the background task.
    state.background.clone().spawn(
        async move { send(&state, account_id, what, &client, when, also).await }
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
            Ok(false) => send(&state, account_id, NEW_DEVICE_LOGIN, &client, now, None).await,
            Err(e) => {
                tracing::warn!(%account_id, error = %e, "new-device check failed; no notice sent");
            }
        }
    }
    .instrument(tracing::Span::current()),
    );
}

/// `what` to every verified email address of the account, and to `also` (an address no longer
/// the account's) unless it is one of them.
#[tracing::instrument(skip_all, fields(%account_id))]
async fn send(
    state: &AppState,
    account_id: Uuid,
    what: &str,
    client: &ClientInfo,
    when: i64,
    also: Option<String>,
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
    let when = rfc3339(when);
    let mut to: Vec<(Option<Uuid>, String)> = contacts
        .into_iter()
        .filter(|c| c.channel == "email")
        .map(|c| (Some(c.id), c.address))
        .collect();
    if let Some(address) = also.filter(|a| !to.iter().any(|(_, t)| t == a)) {
        to.push((None, address));
    }
    for (contact_id, address) in to {
        let mail = OutgoingEmail::new(
            address,
            security_notice_email(
                what,
                &when,
                client.ip.as_deref(),
                Some(device.as_str()),
                &state.config.rp_name,
            ),
        );
        if let Err(e) = state.email.send(mail).await {
            // The error text may quote the server's reply, which can name the address: log
            // only its kind.
            let kind = match e {
                DeliveryError::Config(_) => "configuration",
                DeliveryError::Unavailable(_) => "unavailable",
            };
            tracing::warn!(?contact_id, kind, "security notice not delivered");
        }
    }
}
