//! HTTP routes, one module per feature. Handlers extract, call one service function and map
//! the result; the rules live in `service/`.

pub mod account;
pub mod account_passkeys;
pub mod account_sessions;
pub mod activity;
pub mod codes;
pub mod factors;
pub mod forward_auth;
pub mod health;
pub mod login;
pub mod openapi;
pub mod pages;
pub mod recover;
pub mod signup;
pub mod well_known;

use axum::Router;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::state::AppState;

/// Every documented route: the JSON API under `/api/v1`, the health checks, `/metrics` and the
/// WebAuthn related origins. Each module's `router()` registers its handlers with
/// `utoipa_axum::routes!`, so a route and its OpenAPI description cannot drift apart.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(well_known::router())
        .merge(crate::telemetry::scrape::router())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(openapi::router())
                .merge(signup::router())
                .merge(login::router())
                .merge(codes::router())
                .merge(factors::router())
                .merge(account::router())
                .merge(account_passkeys::router())
                .merge(account_sessions::router())
                .merge(activity::router())
                .merge(forward_auth::router())
                .merge(recover::router()),
        )
}

/// The routes: the documented ones ([`api`]) plus the web pages.
pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router.merge(pages::router()).merge(recover::page())
}

/// The OpenAPI document of [`api`]'s routes (served at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = api().split_for_parts();
    openapi::finish(&mut api);
    api
}

/// `{"ceremony", "options"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CeremonyOptions {
    pub ceremony: Uuid,
    /// WebAuthn options as `PublicKeyCredential.parseCreationOptionsFromJSON` /
    /// `parseRequestOptionsFromJSON` accept: `{"publicKey": {...}}`, binary fields base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// `{"account": Account}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
