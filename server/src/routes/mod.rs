//! HTTP routes, one module per feature. Handlers extract, call one service function and map
//! the result; the rules live in `service/`.

pub mod account;
pub mod account_passkeys;
pub mod account_sessions;
pub mod activity;
pub mod codes;
pub mod factors;
pub mod health;
pub mod login;
pub mod pages;
pub mod signup;
pub mod well_known;

use axum::Router;
use serde::Serialize;
use uuid::Uuid;

use crate::state::AppState;

/// The JSON API under `/api/v1`, plus health checks.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(pages::router())
        .merge(well_known::router())
        .nest(
            "/api/v1",
            Router::new()
                .merge(signup::router())
                .merge(login::router())
                .merge(codes::router())
                .merge(factors::router())
                .merge(account::router())
                .merge(account_passkeys::router())
                .merge(account_sessions::router())
                .merge(activity::router()),
        )
}

/// `{"ceremony", "options"}`.
#[derive(Debug, Serialize)]
pub struct CeremonyOptions {
    pub ceremony: Uuid,
    pub options: serde_json::Value,
}

/// `{"account": Account}`.
#[derive(Debug, Serialize)]
pub struct AccountBody {
    pub account: crate::service::accounts::AccountView,
}

/// Parse a ceremony id; anything that is not a UUID is simply an unknown ceremony.
pub fn ceremony_id(text: &str) -> Result<Uuid, crate::error::ApiError> {
    Uuid::parse_str(text).map_err(|_| crate::error::ApiError::InvalidCeremony)
}

/// Parse a WebAuthn credential (the browser's `toJSON()`); a malformed one is a bad request.
pub fn parse_credential<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, crate::error::ApiError> {
    serde_json::from_value(value)
        .map_err(|e| crate::error::ApiError::InvalidRequest(format!("malformed credential: {e}")))
}
