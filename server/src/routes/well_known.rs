//! `/.well-known/webauthn`: the related origins document (WebAuthn L3 §5.11.1), so that a
//! browser lets every configured origin use this RP id's passkeys. Served only when more than
//! one origin is configured; with one there is nothing to relate.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;

use crate::{error::ApiError, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/webauthn", get(related_origins))
}

/// `{"origins": [...]}`.
#[derive(Debug, Serialize)]
pub struct RelatedOrigins {
    pub origins: Vec<String>,
}

async fn related_origins(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.config.origin.len() < 2 {
        return Err(ApiError::NotFound);
    }
    let origins = state
        .config
        .origin
        .iter()
        .map(|o| o.trim_end_matches('/').to_owned())
        .collect();
    let mut response = Json(RelatedOrigins { origins }).into_response();
    // Browsers fetch it on a passkey ceremony from another origin; it changes only with the
    // configuration.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
