//! Contacts: email addresses and phone numbers, each proven with a code before it counts as a
//! way in (NIST SP 800-63B rev 4 §3.1.3.1: an out-of-band address is bound only once proven).

use std::net::IpAddr;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sesame_delivery::CodePurpose;
use uuid::Uuid;

use super::{
    account_sessions::begin_change,
    codes::{self, Channel, lockout},
    notify,
    sessions::Authenticated,
    ways_in,
};
use crate::{clock::rfc3339, error::ApiError, extract::ClientInfo, state::AppState, store};

const KIND: &str = "contact_verify";

/// Most contacts one account may hold. Each new one is a code sent (the account's send limit
/// bounds how fast they come, not how many over time), and every one gets the security
/// notices; twenty covers every address a person uses (OWASP ASVS 5.0 V2.4, anti-automation).
pub const MAX_CONTACTS: u64 = 20;

fn full() -> ApiError {
    ApiError::LimitReached(format!(
        "an account holds at most {MAX_CONTACTS} contacts; remove one first"
    ))
}

#[derive(Serialize, Deserialize)]
struct State {
    channel: Channel,
    address: String,
}

/// Contract shape `Contact` (the address masked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Contact)]
pub struct ContactView {
    pub id: Uuid,
    /// `email` or `sms`.
    pub channel: String,
    /// Masked, e.g. `a***@example.com`.
    pub address: String,
    #[schema(format = DateTime)]
    pub verified_at: String,
}

impl From<entity::contact::Model> for ContactView {
    fn from(c: entity::contact::Model) -> Self {
        Self {
            id: c.id,
            address: codes::mask(&c.channel, &c.address),
            channel: c.channel,
            verified_at: rfc3339(c.verified_at),
        }
    }
}

pub async fn list(state: &AppState, account_id: Uuid) -> Result<Vec<ContactView>, ApiError> {
    Ok(store::contacts::list_for_account(&state.reads, account_id)
        .await?
        .into_iter()
        .map(ContactView::from)
        .collect())
}

/// Send a code to a new address; the ceremony is bound to this account and session.
#[tracing::instrument(skip_all)]
pub async fn start(
    state: &AppState,
    auth: &Authenticated,
    (channel, raw_address): (Channel, &str),
    client_ip: Option<IpAddr>,
    now: i64,
) -> Result<Uuid, ApiError> {
    let address = codes::normalize_address(channel, raw_address)?;
    // No code is sent that could not be used: an address the account has already is only
    // verified again, a new one needs room.
    let held = store::contacts::list_for_account(&state.reads, auth.account.id).await?;
    let known = held
        .iter()
        .any(|c| c.channel == channel.as_str() && c.address == address);
    if !known && held.len() as u64 >= MAX_CONTACTS {
        return Err(full());
    }
    // The address's resend limit, and the same limit per account: one account cannot send
    // codes to address after address (SMS pumping: each text to a premium number is billed;
    // OWASP ASVS 5.0 V2.4.1, anti-automation for costly functions); and the client's, so that
    // many fresh accounts cannot either (`codes::client_limit`).
    let mut limits = vec![
        (codes::limit_key(channel, &address), codes::PER_TARGET),
        (
            format!("account:{}:contact-codes", auth.account.id),
            codes::PER_TARGET,
        ),
    ];
    limits.extend(codes::client_limit(state, client_ip));
    codes::allow_sends_within(state, limits, now).await?;
    let id = Uuid::new_v4();
    let (code, hash) = codes::new_code(state, id);
    let state_json = serde_json::to_string(&State {
        channel,
        address: address.clone(),
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    crate::service::save_ceremony(
        state,
        entity::ceremony::Model {
            id,
            account_id: Some(auth.account.id),
            session_id: Some(auth.session.id),
            code_hash: Some(hash),
            ..crate::service::new_ceremony(KIND, state_json, now, codes::CODE_TTL_MS)
        },
    )
    .await?;
    if let Err(e) =
        codes::deliver(state, channel, &address, CodePurpose::VerifyContact, &code).await
    {
        crate::service::delete_ceremony(state, id).await?;
        return Err(e);
    }
    Ok(id)
}

/// Prove the address with its code; wrong codes count against the account's lock-out too.
#[tracing::instrument(skip_all)]
pub async fn finish(
    state: &AppState,
    auth: &Authenticated,
    ceremony: Uuid,
    code: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<ContactView, ApiError> {
    let row = store::ceremonies::find_live(&state.reads, ceremony, KIND, now)
        .await?
        // Bound to the session that started it, like adding a passkey.
        .filter(|c| c.account_id == Some(auth.account.id) && c.session_id == Some(auth.session.id))
        .ok_or(ApiError::InvalidCeremony)?;
    // Counted before the code is checked, like a log-in's try (`lockout::charge`).
    let charged = lockout::charge(state, auth.account.id, false, now).await?;
    if !codes::matches(state, &row, code) {
        let failure = codes::AccountFailure {
            client: client.clone(),
            login_method: None,
            account_id: auth.account.id,
            charged,
        };
        codes::record_wrong_code(state, row.id, Some(failure), now).await?;
        return Err(ApiError::InvalidCode);
    }
    let saved: State =
        serde_json::from_str(&row.state).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (account_id, session_id, client_info) = (auth.account.id, auth.session.id, client.clone());
    let written = state
        .writer
        .write(move |conn| async move {
            // The account row before the ceremony's, the order every write takes them in
            // (a contact's removal too), so that none waits on another in a cycle.
            let txn = begin_change(&conn, account_id, session_id).await?;
            store::accounts::refund_try(&txn, account_id, lockout::FREE_FAILURES).await?;
            store::ceremonies::take(&txn, ceremony, KIND, now)
                .await?
                .ok_or(ApiError::InvalidCeremony)?;
            let contact = add_verified(
                &txn,
                account_id,
                saved.channel,
                &saved.address,
                &client_info,
                now,
            )
            .await?;
            txn.commit().await?;
            Ok(contact)
        })
        .await;
    let (contact, added) = lockout::settle(state, account_id, &charged, written).await?;
    crate::telemetry::metrics::ceremony_finished(KIND);
    notify::contact_added(state, auth.account.id, &contact, added, client);
    Ok(contact.into())
}

/// Inside a transaction: store a proven address (or refresh its verification time) and
/// record `contact_added`. The contact, and whether it is new to the account.
pub(crate) async fn add_verified<C: crate::db::Exec>(
    txn: &C,
    account_id: Uuid,
    channel: Channel,
    address: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<(entity::contact::Model, bool), ApiError> {
    let (contact, added) =
        store::contacts::upsert_verified(txn, account_id, channel.as_str(), address, now).await?;
    // Counted after the insert under the account's lock (already held in the usual case: the
    // refund of the try updated the row, or the account is new), so two finishes at once
    // cannot both pass at 19.
    if added {
        store::accounts::lock(txn, account_id).await?;
        let held = entity::contact::Entity::find()
            .filter(entity::contact::Column::AccountId.eq(account_id));
        if store::count(txn, held).await? > MAX_CONTACTS {
            return Err(full());
        }
    }
    let event = serde_json::json!({"contact_id": contact.id, "channel": contact.channel});
    store::events::insert(txn, account_id, "contact_added", client, event, now).await?;
    Ok((contact, added))
}

/// Remove a contact, unless it is the last way in; every other session ends.
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
    now: i64,
) -> Result<(), ApiError> {
    let removal = ways_in::Removal {
        account_id: auth.account.id,
        keep: auth.session.id,
        kind: "contact_removed",
        client: client.clone(),
        now,
    };
    let removed = state
        .writer
        .write(move |conn| async move {
            let txn = ways_in::begin_removal(&conn, &removal).await?;
            let removed = store::contacts::delete(&txn, removal.account_id, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            super::code_login::end_sent_code_logins(&txn, removal.account_id).await?;
            // An administrator's recovery link went to every verified email address: one
            // that is gone (someone else may read that mailbox) must not add a passkey.
            if removed.channel == "email" {
                store::ceremonies::delete_sent_codes(
                    &txn,
                    removal.account_id,
                    crate::admin::recovery::KIND,
                )
                .await?;
            }
            let event = serde_json::json!({"contact_id": removed.id, "channel": removed.channel});
            ways_in::finish_removal(txn, &removal, event).await?;
            Ok(removed)
        })
        .await?;
    notify::contact_removed(state, auth.account.id, &removed, client);
    Ok(())
}
