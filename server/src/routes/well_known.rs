//! `/.well-known/webauthn`: the related origins document (WebAuthn L3 §5.11.1), so that a
//! browser lets every configured origin use this RP id's passkeys. Served only when more than
//! one origin is configured; with one there is nothing to relate.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

use super::routes;

use crate::{error::ApiError, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(related_origins))
}

/// `{"origins": [...]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelatedOrigins {
    pub origins: Vec<String>,
}

/// WebAuthn related origins
///
/// The related origins document (WebAuthn L3 §5.11.1), so that a browser lets every configured
/// origin use this RP id's passkeys. Served only when more than one origin is configured.
#[utoipa::path(
    get,
    path = "/.well-known/webauthn",
    tag = "meta",
    responses(
        (status = 200, description = "The configured origins", body = RelatedOrigins),
        (status = 404, description = "`not_found`: only one origin is configured"),
    ),
)]
async fn related_origins(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.config.origin.len() < 2 {
        return Err(ApiError::NotFound);
    }
    let origins = state.config.canonical_origins();
    let mut response = Json(RelatedOrigins { origins }).into_response();
    // Browsers fetch it on a passkey ceremony from another origin; it changes only with the
    // configuration.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
