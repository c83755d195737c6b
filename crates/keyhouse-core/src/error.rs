//! The core error type: what went wrong in terms a caller can act on.
//! The HTTP layer maps each variant to a status code in one place.

use thiserror::Error;

use crate::store::StoreError;

/// Every failure a core operation can report.
#[derive(Debug, Error)]
pub enum CoreError {
    /// The input is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    Validation(String),
    /// Username/password (or other credentials) did not match. One variant for
    /// unknown user, wrong password and disabled user, so nothing is enumerable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The bearer token is missing, unknown, expired or logged out.
    #[error("invalid token")]
    InvalidToken,
    /// A connected app's token lacks the scope this needs (RFC 6750 §3.1); the
    /// field names the scope. Answered as Anypoint does for apps: 401.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    /// Too many failed attempts for this client, user or address; retry later.
    #[error("too many failed attempts")]
    Throttled { retry_after_secs: u64 },
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The named object does not exist (or must not be shown to exist).
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing data (duplicate name, username).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached; the request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data; logged, never shown to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(msg) => CoreError::Conflict(msg),
            StoreError::NotFound => CoreError::NotFound("Not found".to_owned()),
            StoreError::Unavailable(msg) => CoreError::Unavailable(msg),
            StoreError::Corrupt(msg) => CoreError::Internal(msg),
        }
    }
}

/// Shorthand used across the core.
pub type CoreResult<T> = Result<T, CoreError>;
