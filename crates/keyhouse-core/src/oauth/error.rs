//! RFC 6749 §5.2 errors: values that know their registered code; the HTTP
//! layer adds the status and the JSON body.

use thiserror::Error;

use crate::error::CoreError;

/// What the token, introspection and revocation endpoints can answer.
#[derive(Debug, Error)]
pub enum OAuthError {
    /// Malformed request: missing or repeated parameter, wrong content type.
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed. One answer for unknown client, wrong
    /// secret and disabled app, so client ids cannot be enumerated.
    #[error("Client authentication failed")]
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid or expired.
    #[error("{0}")]
    InvalidGrant(String),
    /// The app may not use this grant type.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// The grant type is not one Keyhouse supports.
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// A requested scope is unknown or not granted to the app.
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed attempts: refused until the pause is over.
    #[error("Too many failed attempts; retry later")]
    Throttled { retry_after_secs: u64 },
    /// Storage is unavailable or a bug happened: never shown in detail.
    #[error("server error")]
    Server(CoreError),
}

impl OAuthError {
    /// The registered `error` code (RFC 6749 §5.2, §4.1.2.1).
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::Throttled { .. } => "temporarily_unavailable",
            OAuthError::Server(CoreError::Unavailable(_)) => "temporarily_unavailable",
            OAuthError::Server(_) => "server_error",
        }
    }

    /// `error_description`, restricted to the characters RFC 6749 §5.2 allows.
    pub fn description(&self) -> String {
        let text = match self {
            OAuthError::Server(CoreError::Unavailable(_)) => {
                "The service is temporarily unavailable".to_owned()
            }
            OAuthError::Server(_) => "Internal server error".to_owned(),
            other => other.to_string(),
        };
        text.chars()
            .map(|c| match c {
                '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
                _ => '\'',
            })
            .collect()
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(err: crate::store::StoreError) -> Self {
        OAuthError::Server(err.into())
    }
}

impl From<CoreError> for OAuthError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::Throttled { retry_after_secs } => OAuthError::Throttled { retry_after_secs },
            CoreError::Validation(msg) => OAuthError::InvalidRequest(msg),
            other => OAuthError::Server(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_use_only_allowed_characters() {
        let err = OAuthError::InvalidScope("scope \"x\" \\ é".to_owned());
        assert_eq!(err.description(), "scope 'x' ' '");
        assert_eq!(err.code(), "invalid_scope");
    }
}
