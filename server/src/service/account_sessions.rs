//! The account's sessions (contract "Session"): listing them and signing them out.
//!
//! Any session may end any other session of its account: someone who finds a session they do
//! not recognise must be able to end it at once (OWASP ASVS 5.0 V7.4 session termination). The
//! same [`revoke_other_sessions`] runs after a way in is removed, so whoever logged in with the
//! removed passkey or code is out as well (ASVS 5.0 V7.4: end the other sessions after an
//! authentication factor changes).

use entity::session;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    clock::rfc3339,
    config::Config,
    db::{Exec, WriteConn, WriteTxn},
    error::ApiError,
    extract::ClientInfo,
    service::{device::Device, methods_list, sessions::Authenticated},
    state::AppState,
    store,
};

/// Contract shape `Session`, plus `device`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_seen_at: String,
    #[schema(format = DateTime)]
    pub authenticated_at: String,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// How the session authenticated: `passkey`, `totp`, `email`, `sms`, `recovery`, `password`.
    pub methods: Vec<String>,
    /// Whether this is the session making the request.
    pub current: bool,
    pub device: Device,
}

impl SessionView {
    fn new(session: session::Model, current: Uuid) -> Self {
        Self {
            current: session.id == current,
            device: Device::from_user_agent(session.user_agent.as_deref()),
            id: session.id,
            created_at: rfc3339(session.created_at),
            last_seen_at: rfc3339(session.last_seen_at),
            authenticated_at: rfc3339(session.authenticated_at),
            methods: methods_list(&session.methods),
            ip: session.ip,
            user_agent: session.user_agent,
        }
    }
}

/// The account's live sessions, the most recently active first (expired or idle ones that the
/// clean-up has not reached yet are left out: they no longer let anyone in).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    auth: &Authenticated,
    now: i64,
) -> Result<Vec<SessionView>, DbErr> {
    let idle_ms = (config.session_idle_secs as i64).saturating_mul(1000);
    Ok(store::sessions::list_for_account(db, auth.account.id, now)
        .await?
        .into_iter()
        .filter(|s| s.last_seen_at + idle_ms > now)
        .map(|s| SessionView::new(s, auth.session.id))
        .collect())
}

/// Begin the write transaction of a change that session `session_id` makes to its account (a
/// way in added or removed, the password, recovery codes, sessions ended): the account row is
/// locked first, the order every write of an account takes its rows in (`ways_in`), then the
/// session must still exist ([`store::sessions::hold`]), else 401 `unauthenticated` and nothing
/// changes. A request is checked when it comes in; without this, one checked just before the
/// owner signed that session out (while it hashed a password, say) would still commit, and a
/// stolen session, once ended, would keep the recovery codes or password it set (OWASP ASVS
/// 5.0 V7.4.1: once a session is terminated it cannot be used any more).
pub async fn begin_change(
    conn: &WriteConn,
    account_id: Uuid,
    session_id: Uuid,
) -> Result<WriteTxn, ApiError> {
    let txn = conn.begin().await?;
    store::accounts::lock(&txn, account_id).await?;
    if !store::sessions::hold(&txn, account_id, session_id).await? {
        return Err(ApiError::Unauthenticated);
    }
    Ok(txn)
}

/// End one session of the account (the current one too: that is a log-out). Another
/// account's or an unknown id → 404, and nothing changes. Returns whether it was the current.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    state: &AppState,
    auth: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
    now: i64,
) -> Result<bool, ApiError> {
    let (account_id, current, client) = (auth.account.id, auth.session.id, client.clone());
    state
        .writer
        .write(move |conn| async move {
            let txn = begin_change(&conn, account_id, current).await?;
            if !store::sessions::delete(&txn, account_id, id).await? {
                return Err(ApiError::NotFound);
            }
            let revoked =
                serde_json::json!({"count": 1, "reason": "signed_out_by_user", "session_id": id});
            store::events::insert(&txn, account_id, "session_revoked", &client, revoked, now)
                .await?;
            Ok(txn.commit().await?)
        })
        .await?;
    Ok(id == auth.session.id)
}

/// End every session of the account but the current one (`DELETE /account/sessions`).
#[tracing::instrument(skip_all)]
pub async fn revoke_others(
    state: &AppState,
    auth: &Authenticated,
    client: &ClientInfo,
    now: i64,
) -> Result<u64, ApiError> {
    let (account_id, keep, client) = (auth.account.id, auth.session.id, client.clone());
    let count = state
        .writer
        .write(move |conn| async move {
            let txn = begin_change(&conn, account_id, keep).await?;
            let reason = "signed_out_by_user";
            let count = revoke_other_sessions(&txn, account_id, keep, reason, &client, now).await?;
            txn.commit().await?;
            Ok(count)
        })
        .await?;
    Ok(count)
}

/// End every session of `account_id` except `keep` and, when any ended, record one
/// `session_revoked` event `{"count": N, "reason": reason}`; forget the account's known
/// devices too (`store::devices::forget`: a browser that signed in before no longer skips the
/// code limits and the back-off; the route sets a new known-device cookie for the one that
/// stays, `auth::still_known`). Pass the removal's transaction, so the
/// sessions end exactly when the change commits. `reason` names what happened, e.g.
/// `passkey_removed`, `contact_removed`, `totp_disabled`, `password_changed`.
pub async fn revoke_other_sessions<C: Exec>(
    db: &C,
    account_id: Uuid,
    keep: Uuid,
    reason: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<u64, DbErr> {
    let count = store::sessions::delete_others(db, account_id, keep).await?;
    store::devices::forget(db, account_id).await?;
    if count > 0 {
        store::events::insert(
            db,
            account_id,
            "session_revoked",
            client,
            serde_json::json!({"count": count, "reason": reason}),
            now,
        )
        .await?;
    }
    Ok(count)
}
