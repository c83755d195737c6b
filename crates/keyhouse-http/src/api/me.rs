//! Who am I: `/accounts/api/me` (`{"user":…}`), `/accounts/api/users/me` and
//! `/accounts/api/profile` (the flat user object anypoint-cli-v4 reads).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use keyhouse_core::service::{MeShape, MeView};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::{wire, AppState};

/// `GET /accounts/api/me`.
#[utoipa::path(
    get,
    path = "/accounts/api/me",
    tag = "session",
    operation_id = "me",
    responses(
        (status = 200, description = "The caller, wrapped in `user` (and `client` for app tokens)", body = crate::openapi::schemas::Me),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let body = state
        .keyhouse
        .me_rendered(&principal, MeShape::Wrapped, |me| {
            let mut body = json!({"user": wire::me_user(me)});
            if let (Some(app), Value::Object(map)) = (&me.client, &mut body) {
                map.insert("client".into(), wire::client(app));
            }
            render(&body)
        })
        .await?;
    Ok(wire::json_bytes(body))
}

/// The flat user object of `/users/me` and `/profile`.
fn flat(me: &MeView) -> Bytes {
    render(&wire::me_user(me))
}

/// Serialized once, then served from the core's cache as it is.
fn render(body: &Value) -> Bytes {
    // A `Value` always serializes; the fallback is never sent in practice.
    serde_json::to_vec(body)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// `GET /accounts/api/users/me`: the same user, not wrapped.
#[utoipa::path(
    get,
    path = "/accounts/api/users/me",
    tag = "session",
    operation_id = "usersMe",
    responses(
        (status = 200, description = "The caller (not wrapped)", body = crate::openapi::schemas::MeUser),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn users_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let body = state
        .keyhouse
        .me_rendered(&principal, MeShape::Flat, flat)
        .await?;
    Ok(wire::json_bytes(body))
}

/// `GET /accounts/api/profile`: the canonical "am I signed in" call; the flat user.
#[utoipa::path(
    get,
    path = "/accounts/api/profile",
    tag = "session",
    operation_id = "profile",
    responses(
        (status = 200, description = "The caller (not wrapped)", body = crate::openapi::schemas::MeUser),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn profile(
    state: State<AppState>,
    principal: Authenticated,
) -> Result<Response, ApiError> {
    users_me(state, principal).await
}
