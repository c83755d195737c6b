//! Request extractors whose every rejection is an [`ApiError`] in Anypoint's shape:
//! bearer authentication, JSON or form bodies, and paging parameters.

use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use keyhouse_core::oauth::client_auth::{ClientAuthMethod, ClientCredentials};
use keyhouse_core::service::Principal;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::ApiError;
use crate::AppState;

/// The caller behind `Authorization: Bearer <token>` (scheme case-insensitive,
/// RFC 6750 §2.1), or Anypoint's `~~~Client~~~` Basic shortcut. Tokens in the
/// query string are not accepted (RFC 9700 §4.3.2).
pub struct Authenticated(pub Principal);

/// The user name that marks Anypoint's Basic shortcut for connected apps.
const SHORTCUT_USER: &str = "~~~Client~~~";
/// Separates client id and secret in the shortcut's password.
const SHORTCUT_SEPARATOR: &str = "~?~";

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer_token(&parts.headers) {
            let mut principal = state.keyhouse.authenticate(token).await?;
            principal.source = client_ip(parts);
            return Ok(Authenticated(principal));
        }
        let Some((user, password)) = basic_credentials(&parts.headers) else {
            return Err(ApiError::missing_token());
        };
        let shortcut = (user == SHORTCUT_USER)
            .then(|| password.split_once(SHORTCUT_SEPARATOR))
            .flatten()
            .filter(|(id, secret)| !id.is_empty() && !secret.contains(SHORTCUT_SEPARATOR));
        let Some((client_id, client_secret)) = shortcut else {
            return Err(ApiError::missing_token());
        };
        let creds = ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            method: ClientAuthMethod::Shortcut,
        };
        let source = client_ip(parts);
        Ok(Authenticated(
            state.keyhouse.authenticate_shortcut(&creds, source).await?,
        ))
    }
}

/// Longest `Authorization: Basic` value we decode.
const BASIC_MAX_LEN: usize = 4096;

/// `Authorization: Basic` user and password, decoded (RFC 7617); `None` when the
/// header is absent, not Basic, or malformed.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if value.len() > BASIC_MAX_LEN {
        return None;
    }
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The peer address of the connection (for per-address throttling), when known.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The caller's IP address as an extractor; never fails.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// The token of an `Authorization: Bearer …` header, if there is exactly that.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The body kinds an endpoint may accept.
enum BodyKind {
    Json,
    Form,
}

fn body_kind(headers: &HeaderMap, allow_form: bool) -> Result<BodyKind, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(BodyKind::Json)
    } else if allow_form && essence == "application/x-www-form-urlencoded" {
        Ok(BodyKind::Form)
    } else {
        let expected = if allow_form {
            "application/json or application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be {expected}"),
        ))
    }
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "Request body is too large")
        } else {
            ApiError::bad_request("The request body could not be read")
        }
    })
}

fn parse<T: DeserializeOwned>(kind: BodyKind, bytes: &[u8]) -> Result<T, ApiError> {
    match kind {
        BodyKind::Json => serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}"))),
        BodyKind::Form => serde_urlencoded::from_bytes(bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid form body: {e}"))),
    }
}

/// A JSON request body (`Content-Type: application/json`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let kind = body_kind(req.headers(), false)?;
        let bytes = read_body(req, state).await?;
        parse(kind, &bytes).map(JsonBody)
    }
}

/// A JSON or form-encoded request body (login accepts both, as Anypoint's clients send both).
pub struct JsonOrForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let kind = body_kind(req.headers(), true)?;
        let bytes = read_body(req, state).await?;
        parse(kind, &bytes).map(JsonOrForm)
    }
}

/// Anypoint's `offset`/`limit` paging parameters.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

impl FromRequestParts<AppState> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<Paging>::from_request_parts(parts, state)
            .await
            .map(|Query(p)| p)
            .map_err(|_| {
                ApiError::bad_request("offset and limit must be non-negative whole numbers")
            })
    }
}

/// Path parameters; a segment that is not valid UTF-8 or percent-encoding is a
/// 400 in the API's shape rather than axum's plain-text rejection.
pub struct ApiPath<T>(pub T);

impl<T> FromRequestParts<AppState> for ApiPath<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| ApiPath(p))
            .map_err(|_| ApiError::bad_request("The URL path is not valid"))
    }
}

/// A JSON body that may be absent (e.g. `PATCH …?resetSecret=true` with no body).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let kind = if has_type {
            Some(body_kind(req.headers(), false)?)
        } else {
            None
        };
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        let kind = kind.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            )
        })?;
        parse(kind, &bytes).map(|v| OptionalJson(Some(v)))
    }
}
