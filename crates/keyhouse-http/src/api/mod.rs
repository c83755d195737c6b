//! Routes, one module per Anypoint resource; folder names mirror URL paths.

mod environments;
mod health;
mod login;
mod me;
mod organizations;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

/// Every route the server answers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/accounts/login", post(login::login))
        .route("/accounts/api/logout", post(login::logout))
        .route("/accounts/api/me", get(me::me))
        .route("/accounts/api/users/me", get(me::users_me))
        .route("/accounts/api/profile", get(me::profile))
        .route("/accounts/api/organizations", post(organizations::create))
        .route(
            "/accounts/api/organizations/{org_id}",
            get(organizations::get)
                .put(organizations::update)
                .delete(organizations::delete),
        )
        .route(
            "/accounts/api/organizations/{org_id}/hierarchy",
            get(organizations::hierarchy),
        )
        .route(
            "/accounts/api/organizations/{org_id}/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/accounts/api/organizations/{org_id}/environments/{env_id}",
            get(environments::get)
                .put(environments::update)
                .delete(environments::delete),
        )
}

/// Unknown paths: 404 in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Resource not found")
}

/// Known path, wrong method: 405 in the API's error shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}
