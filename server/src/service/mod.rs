//! The rules of each feature. No axum types here; `now` (Unix ms) is always a parameter.

pub mod account_passkeys;
pub mod account_sessions;
pub mod accounts;
pub mod activity;
pub mod authenticator_app;
pub mod code_login;
pub mod code_signup;
pub mod codes;
pub mod contacts;
pub mod device;
pub mod known_device;
pub mod notify;
pub mod passkey_login;
pub mod passkeys;
pub mod password;
pub mod recovery;
pub mod return_to;
pub mod sessions;
pub mod totp;
pub mod username;
pub mod ways_in;

/// How a person proved who they are; used in sessions and events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Passkey,
    Totp,
    Email,
    Sms,
    Recovery,
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Totp => "totp",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Recovery => "recovery",
            Self::Password => "password",
        }
    }
}

/// `methods` as stored: comma-separated.
pub fn methods_text(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `methods` as shown: a list.
pub fn methods_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A control character (Unicode Cc), or one of the bidirectional-text controls (Cf: marks,
/// embeddings, overrides, isolates), which can make a name read as another (Unicode TR36
/// §2.1): never kept in text a person typed.
pub(crate) fn unshowable(c: char) -> bool {
    const BIDI: [char; 12] = [
        '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
        '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    ];
    c.is_control() || BIDI.contains(&c)
}

/// Free text a person typed that is stored as given (a display name, a new passkey's name):
/// tabs and line breaks become spaces; other control characters (a NUL cannot be stored in
/// PostgreSQL's `text`; the others garble pages and logs) and the bidirectional-text controls
/// (which can make a name read as another, Unicode TR36 §2.1) are dropped; trimmed, at most
/// `max` characters; `None` when nothing is left.
pub(crate) fn tidy_text(raw: &str, max: usize) -> Option<String> {
    let text: String = raw
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if unshowable(c) => None,
            c => Some(c),
        })
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(max).collect())
}

/// Ceremony and passkey state is stored as JSON; a value that does not serialise or a stored
/// row that no longer reads back is a server fault, never the client's.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, crate::error::ApiError> {
    serde_json::to_string(value)
        .map_err(|e| crate::error::ApiError::Internal(format!("serialise state: {e}")))
}

pub(crate) fn from_json<T: for<'de> serde::Deserialize<'de>>(
    text: &str,
) -> Result<T, crate::error::ApiError> {
    serde_json::from_str(text)
        .map_err(|e| crate::error::ApiError::Internal(format!("stored state unreadable: {e}")))
}

/// A new ceremony row of `kind` with its JSON `state`, started `now` and valid for `ttl_ms`,
/// tied to nothing yet. Callers set what applies with struct update syntax:
/// `Model { account_id: Some(id), code_hash: Some(hash), ..new_ceremony(KIND, state, now, ttl) }`.
pub(crate) fn new_ceremony(
    kind: &str,
    state: String,
    now: i64,
    ttl_ms: i64,
) -> entity::ceremony::Model {
    entity::ceremony::Model {
        id: uuid::Uuid::new_v4(),
        kind: kind.to_owned(),
        account_id: None,
        session_id: None,
        username: None,
        state,
        code_hash: None,
        attempts: 0,
        created_at: now,
        expires_at: now + ttl_ms,
    }
}

/// Insert a new account inside the sign-up's transaction and record `account_created` with
/// `method`. A taken username (a unique violation: another sign-up won the race) is 409
/// `username_taken`.
pub(crate) async fn create_account<C: crate::db::Exec>(
    txn: &C,
    account: entity::account::Model,
    method: &str,
    client: &crate::extract::ClientInfo,
    now: i64,
) -> Result<entity::account::Model, crate::error::ApiError> {
    use crate::{error::ApiError, store};
    let account = store::accounts::insert(txn, account).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            ApiError::UsernameTaken
        } else {
            e.into()
        }
    })?;
    let created = serde_json::json!({ "method": method });
    store::events::insert(txn, account.id, "account_created", client, created, now).await?;
    Ok(account)
}

/// Store a ceremony that was just started, through the writer ([`crate::db::Writer`]).
pub(crate) async fn save_ceremony(
    state: &crate::state::AppState,
    row: entity::ceremony::Model,
) -> Result<(), crate::error::ApiError> {
    state
        .writer
        .write(move |db| async move { Ok(crate::store::ceremonies::insert(&db, row).await?) })
        .await
}

/// Remove a ceremony ([`crate::store::ceremonies::delete`]), through the writer.
pub(crate) async fn delete_ceremony(
    state: &crate::state::AppState,
    id: uuid::Uuid,
) -> Result<(), crate::error::ApiError> {
    state
        .writer
        .write(move |db| async move { Ok(crate::store::ceremonies::delete(&db, id).await?) })
        .await
}

/// Consume a live ceremony of `kind` ([`crate::store::ceremonies::take`]), through the writer.
pub(crate) async fn take_ceremony(
    state: &crate::state::AppState,
    id: uuid::Uuid,
    kind: &'static str,
    now: i64,
) -> Result<Option<entity::ceremony::Model>, crate::error::ApiError> {
    let taken = state
        .writer
        .write(
            move |db| async move { Ok(crate::store::ceremonies::take(&db, id, kind, now).await?) },
        )
        .await?;
    if taken.is_some() {
        crate::telemetry::metrics::ceremony_finished(kind);
    }
    Ok(taken)
}
