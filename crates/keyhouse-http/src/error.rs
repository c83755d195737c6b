//! The one place where errors become HTTP responses. Anypoint APIs answer
//! `{"status": N, "message": "…"}`; internal details are logged, never sent.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyhouse_core::CoreError;
use serde_json::json;

/// `WWW-Authenticate` for a request that carried no credentials (RFC 6750 §3).
const BEARER_CHALLENGE: &str = "Bearer realm=\"keyhouse\"";
/// `WWW-Authenticate` for a token that is unknown, expired or revoked (RFC 6750 §3.1).
const BEARER_INVALID: &str = "Bearer realm=\"keyhouse\", error=\"invalid_token\"";

/// An error on its way to the client, already in wire terms.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    challenge: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// Any status with a message for the client.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// For APIs outside `/accounts` (the audit API): a token lacking a scope
    /// gets 403 with the `insufficient_scope` challenge, as RFC 6750 §3.1
    /// recommends (the 401 of [`From<CoreError>`] is Anypoint's Access
    /// Management habit); every other error maps as usual.
    pub fn scope_forbidden(err: CoreError) -> Self {
        match err {
            CoreError::InsufficientScope(scope) => Self {
                challenge: Some(format!(
                    "Bearer realm=\"keyhouse\", error=\"insufficient_scope\", scope=\"{scope}\""
                )),
                ..Self::new(
                    StatusCode::FORBIDDEN,
                    format!("The token lacks the scope '{scope}' for this organization"),
                )
            },
            other => other.into(),
        }
    }

    /// 401 for a request without a usable `Authorization: Bearer` header.
    pub fn missing_token() -> Self {
        Self {
            challenge: Some(BEARER_CHALLENGE.to_owned()),
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized")
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::Validation(msg) => Self::bad_request(msg),
            CoreError::InvalidCredentials => Self::new(StatusCode::UNAUTHORIZED, "Unauthorized"),
            CoreError::InvalidToken => Self {
                challenge: Some(BEARER_INVALID.to_owned()),
                ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized")
            },
            // Anypoint answers 401 when an app lacks a scope; the RFC 6750 §3.1
            // challenge tells standard clients which scope is missing.
            CoreError::InsufficientScope(scope) => Self {
                challenge: Some(format!(
                    "Bearer realm=\"keyhouse\", error=\"insufficient_scope\", scope=\"{scope}\""
                )),
                ..Self::new(
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "The token lacks the scope '{scope}' for this organization or environment"
                    ),
                )
            },
            CoreError::Throttled { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed attempts; retry later",
                )
            },
            CoreError::Forbidden(msg) => Self::new(StatusCode::FORBIDDEN, msg),
            CoreError::NotFound(msg) => Self::new(StatusCode::NOT_FOUND, msg),
            CoreError::Conflict(msg) => Self::new(StatusCode::CONFLICT, msg),
            CoreError::Unavailable(detail) => {
                tracing::error!(%detail, "storage unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable, try again later",
                )
            }
            CoreError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"status": self.status.as_u16(), "message": self.message}));
        let mut response = (self.status, body).into_response();
        if let Some(value) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The answer when a handler panicked: logged, and a plain 500 for the client.
pub fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
}
