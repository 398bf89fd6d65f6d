//! The account's security activity log (contract "Event"), newest first, so a person can spot
//! what they did not do (OWASP ASVS 5.0 V16: security events are logged with when, where from
//! and what).

use entity::event;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    clock::rfc3339,
    error::ApiError,
    service::{device::Device, methods_list},
    state::AppState,
    store,
};

/// Events per page when the client does not say.
pub const DEFAULT_LIMIT: u64 = 20;
/// The most events one page can hold.
pub const MAX_LIMIT: u64 = 100;

/// Contract shape `Event`, plus `device`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub at: String,
    /// `login`, `login_failed`, `passkey_added`, `passkey_removed`, `totp_enabled`,
    /// `totp_disabled`, `contact_added`, `contact_removed`, `recovery_codes_generated`,
    /// `recovery_code_used`, `password_set`, `password_removed`, `session_revoked`,
    /// `locked_out`, …
    pub kind: String,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// Facts about the event, by kind (e.g. `{"methods": [...], "session_id": ...}` for
    /// `login`, with `"sessions_ended": N` when it ended sessions past the account's limit).
    #[schema(value_type = Object)]
    pub detail: Value,
    pub device: Device,
}

impl From<event::Model> for EventView {
    fn from(e: event::Model) -> Self {
        let mut detail: Value =
            serde_json::from_str(&e.detail).unwrap_or_else(|_| Value::Object(Default::default()));
        if !detail.is_object() {
            detail = Value::Object(Default::default());
        }
        // `methods` is stored as the session stores it ("password,totp"); show the contract's
        // list form, as sessions do.
        if let Some(text) = detail.get("methods").and_then(Value::as_str) {
            let list = methods_list(text);
            detail["methods"] = Value::from(list);
        }
        Self {
            device: Device::from_user_agent(e.user_agent.as_deref()),
            id: e.id,
            at: rfc3339(e.at),
            kind: e.kind,
            ip: e.ip,
            user_agent: e.user_agent,
            detail,
        }
    }
}

/// A page of the account's events: at most `limit` (1–100, default 20), all strictly older
/// than `before` (an RFC 3339 time stamp) when given.
pub async fn list(
    state: &AppState,
    account_id: Uuid,
    limit: Option<u64>,
    before: Option<&str>,
    before_id: Option<Uuid>,
) -> Result<Vec<EventView>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let before = match (before.map(parse_time).transpose()?, before_id) {
        (Some(at), id) => Some((at, id)),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::InvalidRequest(
                "before_id is used together with before".into(),
            ));
        }
    };
    Ok(store::events::list(&state.reads, account_id, limit, before)
        .await?
        .into_iter()
        .map(EventView::from)
        .collect())
}

/// RFC 3339 → Unix milliseconds.
fn parse_time(text: &str) -> Result<i64, ApiError> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::InvalidRequest("before must be an RFC 3339 time stamp".into()))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::InvalidRequest("before is out of range".into()))
}
