//! Keyhouse over HTTP: Anypoint Access Management paths and shapes, mapped onto
//! `keyhouse-core`. Handlers extract, call the core and map the result; the
//! only place where errors become status codes is [`error`].

pub mod api;
pub mod console;
pub mod edge;
pub mod error;
pub mod extract;
pub mod federation;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod pages;
pub mod request_id;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use keyhouse_core::Keyhouse;
use tower_http::catch_panic::CatchPanicLayer;

/// Largest request body accepted on any endpoint; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub keyhouse: Arc<Keyhouse>,
    /// The server's counters. A `'static` reference rather than an `Arc`:
    /// handlers clone the state on every request, and a reference costs no
    /// reference-count traffic. Allocated once per [`AppState::new`], that
    /// is once per server process.
    pub metrics: &'static metrics::Metrics,
}

impl AppState {
    /// The state of a server; `metrics_enabled` serves `/metrics` and counts
    /// every HTTP request (token counters are kept either way).
    pub fn new(keyhouse: Arc<Keyhouse>, metrics_enabled: bool) -> Self {
        let metrics = metrics::Metrics::new(&route_paths(), metrics_enabled);
        Self {
            keyhouse,
            metrics: Box::leak(Box::new(metrics)),
        }
    }
}

/// Every route the application serves, before its state and layers: the
/// APIs, OAuth endpoints and pages of [`api::routes`], and the console.
fn routes() -> Router<AppState> {
    api::routes().merge(console::routes())
}

/// The template of every route [`app`] serves, read from the router itself so
/// that no separate list can fall out of step with it: the per-route metrics
/// are created from it, and the OpenAPI coverage test (`tests/e2e/openapi.rs`)
/// checks that each one is documented. axum offers no way to list a router's
/// routes; its `Debug` output names them (`route_paths_are_read_from_the_router`
/// fails if a new axum prints them differently).
pub fn route_paths() -> Vec<String> {
    debug_paths(&format!("{:?}", routes()))
}

/// The route templates in a router's `Debug` output (`Router { path_router:
/// … Node { paths: {RouteId(0): "/a", …} } …, fallback_router: … }`): those of
/// its path router, without axum's internal ones, sorted.
fn debug_paths(debug: &str) -> Vec<String> {
    let routes = debug.split("fallback_router:").next().unwrap_or_default();
    let mut paths: Vec<String> = routes
        .split("RouteId(")
        .skip(1)
        .filter_map(|rest| rest.split_once("): \"")?.1.split_once('"'))
        .map(|(path, _)| path.to_owned())
        .filter(|path| path.starts_with('/') && !path.contains("__private__"))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The complete application: routes, limits, security headers, request ids,
/// tracing, metrics, and a panic guard that answers 500 without internals.
pub fn app(state: AppState) -> Router {
    let track = state.metrics.track_layer();
    let router = routes()
        .with_state(state)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(edge::EdgeLayer);
    match track {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    async fn ok() {}

    #[test]
    fn route_paths_are_read_from_the_router() {
        let merged: Router<AppState> = Router::new()
            .route("/x/{id}/y", get(ok))
            .route("/z", post(ok).get(ok));
        let router: Router<AppState> = Router::new().route("/a", get(ok)).merge(merged);
        assert_eq!(
            debug_paths(&format!("{router:?}")),
            vec!["/a", "/x/{id}/y", "/z"]
        );
        let all = route_paths();
        for path in ["/accounts/api/v2/oauth2/token", "/metrics", "/openapi.json"] {
            assert!(all.iter().any(|p| p == path), "{path} not in {all:?}");
        }
    }
}
