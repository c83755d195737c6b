//! Keyhouse over HTTP: Anypoint Access Management paths and shapes, mapped onto
//! `keyhouse-core`. Handlers extract, call the core and map the result; the
//! only place where errors become status codes is [`error`].

pub mod api;
pub mod error;
pub mod extract;
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
