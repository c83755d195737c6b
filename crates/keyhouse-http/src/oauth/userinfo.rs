//! OIDC UserInfo (OIDC Core §5.3) and the provider's public metadata:
//! discovery (OIDC Discovery §4) and the JWKS (RFC 7517).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyhouse_core::CoreError;

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::openapi::schemas as S;
use crate::AppState;

/// RFC 6750 §3.1: a token without `openid` gets 403 `insufficient_scope`.
fn answer(result: Result<serde_json::Value, CoreError>) -> Response {
    match result {
        Ok(claims) => Json(claims).into_response(),
        Err(CoreError::InsufficientScope(scope)) => {
            let mut response = ApiError::new(
                StatusCode::FORBIDDEN,
                format!("The token was not granted the '{scope}' scope"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!(
                "Bearer realm=\"keyhouse\", error=\"insufficient_scope\", scope=\"{scope}\""
            )) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Err(other) => ApiError::from(other).into_response(),
    }
}

/// `GET /accounts/api/v2/oauth2/userinfo` with `Authorization: Bearer`.
#[utoipa::path(
    get,
    path = "/accounts/api/v2/oauth2/userinfo",
    tag = "oidc",
    operation_id = "userinfo",
    responses(
        (status = 200, description = "The user's claims, by the token's scopes", body = S::UserInfo),
        (status = 400, description = "The token was sent twice", body = S::Error),
        (status = 401, description = "Missing, invalid or expired token", body = S::Error),
        (status = 403, description = "The token lacks `openid` (`insufficient_scope`)", body = S::Error),
    ),
    security(("bearer" = [])),
)]
pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match bearer_token(&headers) {
        Some(token) => answer(state.keyhouse.userinfo(token).await),
        None => ApiError::missing_token().into_response(),
    }
}

/// `POST …/userinfo`: bearer in the header, or `access_token` in a form body
/// (RFC 6750 §2.2) — never both (§2).
#[utoipa::path(
    post,
    path = "/accounts/api/v2/oauth2/userinfo",
    tag = "oidc",
    operation_id = "userinfoPost",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "`access_token=…` (RFC 6750 §2.2) when no Authorization header is sent"),
    responses(
        (status = 200, description = "The user's claims, by the token's scopes", body = S::UserInfo),
        (status = 400, description = "The token was sent twice", body = S::Error),
        (status = 401, description = "Missing, invalid or expired token", body = S::Error),
        (status = 403, description = "The token lacks `openid` (`insufficient_scope`)", body = S::Error),
    ),
    security(("bearer" = [])),
)]
pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let in_body = form
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.as_str());
    match (bearer_token(&headers), in_body) {
        (Some(_), Some(_)) => {
            ApiError::bad_request("Send the access token once, not in two places").into_response()
        }
        (Some(token), None) | (None, Some(token)) => answer(state.keyhouse.userinfo(token).await),
        (None, None) => ApiError::missing_token().into_response(),
    }
}

/// Metadata answers may be read cross-origin (RFC 9700 §2.6 allows CORS here).
fn public_json(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `/.well-known/openid-configuration` and Anypoint's path for it.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oidc",
    operation_id = "discovery",
    responses((status = 200, description = "OpenID Provider metadata", body = S::Discovery)),
)]
pub async fn discovery(State(state): State<AppState>) -> Response {
    public_json(state.keyhouse.discovery())
}

/// `GET /accounts/api/v2/oauth2/jwks`.
#[utoipa::path(
    get,
    path = "/accounts/api/v2/oauth2/jwks",
    tag = "oidc",
    operation_id = "jwks",
    responses((status = 200, description = "The ID-token signing keys (public members only)",
        body = S::Jwks)),
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    public_json(state.keyhouse.jwks())
}
