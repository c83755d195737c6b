//! `POST /accounts/api/v2/oauth2/token` (and the legacy `/accounts/oauth2/token`),
//! `…/introspect` and `…/revoke`: parse, authenticate, call the core, answer.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyhouse_core::access::GrantType;
use keyhouse_core::oauth::client_auth::ClientCredentials;
use keyhouse_core::oauth::error::OAuthError;
use keyhouse_core::oauth::grant::TokenRequest;
use serde_json::{json, Value};

use super::error::OAuthResponseError;
use super::params::{self, Params};
use crate::extract::ClientIp;
use crate::openapi::schemas as S;
use crate::AppState;

type OAuthResult = Result<Response, OAuthResponseError>;

/// Reads and parses the body; an oversized body is 413 with an OAuth JSON body.
fn read(
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, OAuthResponseError> {
    params::refuse_query_secrets(uri.query())?;
    let body = body.map_err(|rejection| OAuthResponseError {
        error: OAuthError::InvalidRequest("The request body could not be read".to_owned()),
        too_large: rejection.status() == StatusCode::PAYLOAD_TOO_LARGE,
    })?;
    Ok(params::parse(headers, &body)?)
}

fn no_store(body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The token endpoint: `{access_token, token_type: "bearer", expires_in}`.
/// Every answer is counted: issued tokens by grant type, refusals by error code.
#[utoipa::path(
    post,
    path = "/accounts/api/v2/oauth2/token",
    tag = "oauth",
    operation_id = "token",
    request_body(content(
        (S::TokenRequest = "application/x-www-form-urlencoded"),
        (S::TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Issued (`Cache-Control: no-store`)", body = S::TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, invalid_scope, \
            unauthorized_client or unsupported_grant_type", body = S::OAuthError),
        (status = 401, description = "invalid_client (`WWW-Authenticate: Basic`)", body = S::OAuthError),
        (status = 413, description = "Body too large (invalid_request)", body = S::OAuthError),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = S::OAuthError),
        (status = 503, description = "temporarily_unavailable", body = S::OAuthError),
    ),
    security((), ("client_basic" = [])),
)]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> OAuthResult {
    let tokens = &state.metrics.tokens;
    match issue(&state, source, &headers, &uri, body).await {
        Ok((grant, response)) => {
            if let Some(grant) = grant {
                tokens.issued(grant);
            }
            Ok(response)
        }
        Err(err) => {
            tokens.failed(err.error.code());
            Err(err)
        }
    }
}

/// The token endpoint's work; answers the grant type used with the response.
async fn issue(
    state: &AppState,
    source: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Option<GrantType>, Response), OAuthResponseError> {
    let params = read(headers, uri, body)?;
    let client = params::client_credentials(headers, &params)?;
    let field = |name: &str| params.get(name).map(str::to_owned);
    let request = TokenRequest {
        grant_type: params.get("grant_type").unwrap_or_default().to_owned(),
        scope: field("scope"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        code_verifier: field("code_verifier"),
        refresh_token: field("refresh_token"),
        username: field("username"),
        password: field("password"),
        assertion: field("assertion"),
    };
    let grant = GrantType::parse(&request.grant_type);
    let issued = state.keyhouse.token(request, client, source).await?;
    let body = TokenAnswer {
        access_token: issued.access_token,
        token_type: "bearer",
        expires_in: issued.expires_in,
        scope: issued.scope,
        refresh_token: issued.refresh_token,
        id_token: issued.id_token,
    };
    Ok((grant, no_store(body)))
}

/// The token endpoint's answer (RFC 6749 §5.1), serialized straight from
/// this struct: no intermediate JSON tree on the hottest write path.
#[derive(serde::Serialize)]
struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// What introspection and revocation both need: the caller's credentials
/// (required) and the `token` parameter.
fn token_call(
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<(ClientCredentials, String), OAuthResponseError> {
    let params = read(headers, uri, body)?;
    let caller = params::client_credentials(headers, &params)?.ok_or(OAuthError::InvalidClient)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".to_owned()))?;
    Ok((caller, token.to_owned()))
}

/// RFC 7662: `{"active": false}` for anything not live, else the token's facts.
#[utoipa::path(
    post,
    path = "/accounts/api/v2/oauth2/introspect",
    tag = "oauth",
    operation_id = "introspect",
    request_body(content(
        (S::TokenCall = "application/x-www-form-urlencoded"),
        (S::TokenCall = "application/json"),
    )),
    responses(
        (status = 200, description = "The token's state (`active: false` for anything not live)",
            body = S::Introspection),
        (status = 400, description = "invalid_request (no `token`)", body = S::OAuthError),
        (status = 401, description = "invalid_client", body = S::OAuthError),
        (status = 429, description = "Too many failed attempts", body = S::OAuthError),
    ),
    security(("client_basic" = [])),
)]
pub async fn introspect(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> OAuthResult {
    let (caller, token) = token_call(&headers, &uri, body)?;
    let answer = match state.keyhouse.introspect(&caller, &token, source).await? {
        None => json!({"active": false}),
        Some(active) => {
            let mut body = json!({
                "active": true,
                "sub": active.sub,
                "token_type": "Bearer",
                "iat": active.issued_at.0 / 1000,
                "exp": active.expires_at.0 / 1000,
            });
            if let Value::Object(map) = &mut body {
                for (key, value) in [
                    ("client_id", active.client_id),
                    ("username", active.username),
                    ("scope", active.scope),
                ] {
                    if let Some(v) = value {
                        map.insert(key.into(), Value::String(v));
                    }
                }
            }
            body
        }
    };
    Ok(no_store(answer))
}

/// RFC 7009: 200 with an empty body once the token is dead (or was never alive).
#[utoipa::path(
    post,
    path = "/accounts/api/v2/oauth2/revoke",
    tag = "oauth",
    operation_id = "revoke",
    request_body(content(
        (S::TokenCall = "application/x-www-form-urlencoded"),
        (S::TokenCall = "application/json"),
    )),
    responses(
        (status = 200, description = "The token no longer works (or never did)"),
        (status = 400, description = "invalid_request (no `token`)", body = S::OAuthError),
        (status = 401, description = "invalid_client", body = S::OAuthError),
        (status = 429, description = "Too many failed attempts", body = S::OAuthError),
    ),
    security(("client_basic" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> OAuthResult {
    let (caller, token) = token_call(&headers, &uri, body)?;
    state.keyhouse.revoke(&caller, &token, source).await?;
    Ok(StatusCode::OK.into_response())
}
