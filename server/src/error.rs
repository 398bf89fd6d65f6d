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
    /// The account holds as many of something (passkeys, contacts) as one account may.
    #[error("{0}")]
    LimitReached(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("a service Sesame depends on is unavailable; try again shortly")]
    Unavailable,
    /// Detail for the log only; the client sees `server_error` with no description.
    #[error("internal error")]
    Internal(String),
}

/// The contract's error body (RFC 6749 §5.2 shape); `error_description` is left out of
/// `server_error`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "invalid_request", "error_description": "invalid JSON body: missing field `username`"}))]
pub struct ErrorBody<'a> {
    /// The error code, e.g. `invalid_request`, `unauthenticated`, `server_error`.
    pub error: &'a str,
    /// Text for a person; absent on `server_error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::InvalidUsername(_) | Self::InvalidCeremony => {
                StatusCode::BAD_REQUEST
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UsernameTaken
            | Self::CredentialExists
            | Self::LastMethod
            | Self::LimitReached(_) => StatusCode::CONFLICT,
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
            Self::LimitReached(_) => "limit_reached",
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
        // The database cannot be reached, is locked past the busy timeout, or is shutting down:
        // 503, and the caller retries; the transaction (if any) was not committed.
        if db_unavailable(&err) {
            // A connection the server closed: the connections idle since are tested before
            // they are handed out again (`db::liveness`).
            crate::db::liveness::note(&err);
            tracing::warn!(error = %err, "database unavailable");
            Self::Unavailable
        } else {
            Self::Internal(err.to_string())
        }
    }
}

/// Whether a database error means "not reachable right now" (503, worth a retry) rather than
/// a bug (500). Decided on the driver's error kind and code, with the message as a fallback:
/// - pool: no connection within the acquire timeout, pool closed, a connection that cannot be
///   opened (file missing, server refusing);
/// - I/O and TLS errors, protocol errors from a connection cut mid-message;
/// - SQLite result codes BUSY, LOCKED, READONLY (e.g. the file was moved), IOERR, FULL, CANTOPEN;
/// - PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P0x
///   (shutdown, cannot connect now), 57014 (statement timeout), 40001/40P01 (serialisation
///   failure, deadlock), 55P03 (lock not available), 25006 (read-only after a fail-over).
pub fn db_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::DbErr;
    match (err, statement_error(err)) {
        (DbErr::ConnectionAcquire(_) | DbErr::Conn(_), _) => true,
        (_, Some(e)) => sqlx_unavailable(e),
        (DbErr::Exec(e) | DbErr::Query(e), None) => message_says_unavailable(&e.to_string()),
        (other, None) => message_says_unavailable(&other.to_string()),
    }
}

/// The driver's error behind a statement that failed (`DbErr::Exec`, `DbErr::Query`).
pub fn statement_error(err: &sea_orm::DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed
        | Error::BeginFailed => true,
        Error::Database(db) => {
            let postgres = db
                .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .is_some();
            db.code()
                .is_some_and(|code| code_unavailable(&code, postgres))
                || message_says_unavailable(db.message())
        }
        other => message_says_unavailable(&other.to_string()),
    }
}

/// A driver error code (SQLite: the extended result code as a number; PostgreSQL: SQLSTATE)
/// that means the database is unavailable for now. Told apart by the driver, not the code's
/// shape: many SQLSTATEs are all digits (57014, 40001, 25006, 53300), and read as SQLite's
/// numbers they would mean nothing.
fn code_unavailable(code: &str, postgres: bool) -> bool {
    if !postgres {
        // SQLite primary result codes: BUSY 5, LOCKED 6, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
        return code
            .parse::<i32>()
            .is_ok_and(|extended| matches!(extended & 0xff, 5 | 6 | 8 | 10 | 13 | 14));
    }
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P0")
        || matches!(code, "57014" | "40001" | "40P01" | "55P03" | "25006")
}

/// The driver's words, for errors that carry no code.
fn message_says_unavailable(text: &str) -> bool {
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
        "error communicating with database",
        "io error",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
