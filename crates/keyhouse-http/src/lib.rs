//! Keyhouse over HTTP: Anypoint Access Management paths and shapes, mapped onto
//! `keyhouse-core`. Handlers extract, call the core and map the result; the
//! only place where errors become status codes is [`error`].

pub mod api;
pub mod error;
pub mod extract;
pub mod federation;
pub mod oauth;
pub mod pages;
pub mod wire;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::Router;
use keyhouse_core::Keyhouse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted on any endpoint; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub keyhouse: Arc<Keyhouse>,
}

/// The complete application: routes, limits, security headers, request ids,
/// tracing, and a panic guard that answers 500 without internals.
pub fn app(state: AppState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    api::routes()
        .with_state(state)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Refuses a request whose declared `Content-Length` is over the limit before
/// reading any of it (bodies without a length are cut off while reading).
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        if request.uri().path().contains("/oauth2/") {
            return oauth::OAuthResponseError {
                error: keyhouse_core::oauth::error::OAuthError::InvalidRequest(
                    "Request body is too large".to_owned(),
                ),
                too_large: true,
            }
            .into_response();
        }
        return error::ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large",
        )
        .into_response();
    }
    next.run(request).await
}
