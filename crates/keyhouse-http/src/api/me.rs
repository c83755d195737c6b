//! Who am I: `/accounts/api/me` (`{"user":…}`), `/accounts/api/users/me` and
//! `/accounts/api/profile` (the flat user object anypoint-cli-v4 reads).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::{wire, AppState};

/// `GET /accounts/api/me`.
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
pub async fn users_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let me = state.keyhouse.me(&principal).await?;
    Ok(Json(wire::me_user(&me)))
}

/// `GET /accounts/api/profile`: the canonical "am I signed in" call; the flat user.
pub async fn profile(
    state: State<AppState>,
    principal: Authenticated,
) -> Result<Json<Value>, ApiError> {
    users_me(state, principal).await
}
