//! The one web error type, mapped once to the contract's bodies:
//! `{"error": "<code>", "error_description": "<text>"}` (RFC 6749 §5.2 shape).

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Every error a client can see.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0}")]
    InvalidUsername(String),
    #[error("that username is taken")]
    UsernameTaken,
    #[error("the ceremony is unknown, expired or already used")]
    InvalidCeremony,
    #[error("the passkey could not be verified")]
    InvalidCredential,
    #[error("that passkey is already registered")]
    CredentialExists,
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    #[error("too many attempts; try again later")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("no valid session")]
    Unauthenticated,
    #[error("this change needs a recent log-in; authenticate again")]
    ReauthenticationRequired,
    #[error("that would leave the account with no way in")]
    LastMethod,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("a service Sesame depends on is unavailable; try again shortly")]
    Unavailable,
    /// Detail for the log only; the client sees `server_error` with no description.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::InvalidUsername(_) | Self::InvalidCeremony => {
                StatusCode::BAD_REQUEST
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UsernameTaken | Self::CredentialExists | Self::LastMethod => StatusCode::CONFLICT,
            Self::InvalidCredential | Self::InvalidCode | Self::Unauthenticated => {
                StatusCode::UNAUTHORIZED
            }
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ReauthenticationRequired | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::PayloadTooLarge | Self::UnsupportedMediaType => {
                "invalid_request"
            }
            Self::InvalidUsername(_) => "invalid_username",
            Self::UsernameTaken => "username_taken",
            Self::InvalidCeremony => "invalid_ceremony",
            Self::InvalidCredential => "invalid_credential",
            Self::CredentialExists => "credential_exists",
            Self::InvalidCode => "invalid_code",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Unauthenticated => "unauthenticated",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::LastMethod => "last_method",
            Self::NotFound => "not_found",
            Self::Forbidden(_) => "forbidden",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "server_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let description = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                None
            }
            other => Some(other.to_string()),
        };
        let body = ErrorBody {
            error: self.code(),
            error_description: description,
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyAttempts { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match &err {
            // The database cannot be reached (or is locked past the busy timeout): 503, and the
            // caller retries; nothing was committed.
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable
            }
            DbErr::Exec(e) | DbErr::Query(e) if is_unavailable(&e.to_string()) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// Driver errors that mean "not reachable right now" rather than a bug.
fn is_unavailable(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "database is locked",
        "unable to open database",
        "readonly database",
        "disk i/o error",
        "connection refused",
        "connection reset",
        "broken pipe",
        "pool timed out",
        "terminating connection",
        "the database system is",
        "io error",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
