//! Who am I: `/accounts/api/me` (`{"user":…}`), `/accounts/api/users/me` and
//! `/accounts/api/profile` (the flat user object anypoint-cli-v4 reads).

use axum::extract::State;
use axum::Json;
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
) -> Result<Json<Value>, ApiError> {
    let me = state.keyhouse.me(&principal).await?;
    let mut body = json!({"user": wire::me_user(&me)});
    if let (Some(app), Value::Object(map)) = (&me.client, &mut body) {
        map.insert("client".into(), wire::client(app));
    }
    Ok(Json(body))
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
) -> Result<Json<Value>, ApiError> {
    let me = state.keyhouse.me(&principal).await?;
    Ok(Json(wire::me_user(&me)))
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
) -> Result<Json<Value>, ApiError> {
    users_me(state, principal).await
}
