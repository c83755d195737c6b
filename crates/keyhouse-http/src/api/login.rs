//! `POST /accounts/login` (username/password → bearer) and `POST /accounts/api/logout`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{Authenticated, ClientIp, JsonOrForm};
use crate::AppState;

/// Login body, JSON or form. Any `Authorization` header is ignored: clients
/// such as anypoint-cli-v4 send a stale one.
#[derive(Deserialize)]
pub struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

/// Anypoint: 200 `{access_token, token_type: "bearer", redirectUrl}`; 401 on bad credentials.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    JsonOrForm(body): JsonOrForm<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let (Some(username), Some(password)) = (body.username, body.password) else {
        return Err(ApiError::bad_request("username and password are required"));
    };
    let issued = state.keyhouse.login(&username, &password, source).await?;
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "redirectUrl": "/home/",
    })))
}

/// Ends the session: the token is refused from now on. 204.
pub async fn logout(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    state.keyhouse.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}
