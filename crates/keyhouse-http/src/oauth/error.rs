//! RFC 6749 §5.2 error responses: `{"error", "error_description"}` with the
//! status each code calls for, never cached.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyhouse_core::oauth::error::OAuthError;
use keyhouse_core::CoreError;
use serde_json::json;

/// An OAuth error on its way out; `too_large` turns the 400 into a 413.
#[derive(Debug)]
pub struct OAuthResponseError {
    pub error: OAuthError,
    pub too_large: bool,
}

impl From<OAuthError> for OAuthResponseError {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            too_large: false,
        }
    }
}

impl IntoResponse for OAuthResponseError {
    fn into_response(self) -> Response {
        let err = self.error;
        let status = match &err {
            _ if self.too_large => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::Server(CoreError::Unavailable(detail)) => {
                tracing::error!(%detail, "storage unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            OAuthError::Server(inner) => {
                tracing::error!(error = %inner, "token endpoint failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({"error": err.code(), "error_description": err.description()});
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match err {
            OAuthError::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"keyhouse\""),
                );
            }
            OAuthError::Throttled { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}
