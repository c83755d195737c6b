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
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LoginInput)]
pub struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

/// Anypoint: 200 `{access_token, token_type: "bearer", redirectUrl}`; 401 on bad credentials.
#[utoipa::path(
    post,
    path = "/accounts/login",
    tag = "session",
    operation_id = "login",
    request_body(content((LoginBody = "application/json"), (LoginBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "A session token (lifetime: the organization's session timeout)", body = crate::openapi::schemas::LoginResponse),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Wrong username or password, or MFA required", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is neither JSON nor a form", body = crate::openapi::schemas::Error),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = crate::openapi::schemas::Error),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    JsonOrForm(body): JsonOrForm<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let (Some(username), Some(password)) = (body.username, body.password) else {
        return Err(ApiError::bad_request("username and password are required"));
    };
    let issued = state.keyhouse.login(&username, &password, source).await?;
    state.metrics.tokens.issued_login();
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "redirectUrl": "/home/",
    })))
}

/// Ends the session: the token is refused from now on. 204.
#[utoipa::path(
    post,
    path = "/accounts/api/logout",
    tag = "session",
    operation_id = "logout",
    responses(
        (status = 204, description = "The token is refused from now on"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn logout(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    state.keyhouse.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}
