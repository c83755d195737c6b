//! OAuth request parameters from a form body (RFC 6749) or a JSON body (as
//! Anypoint's clients send), and client credentials from Basic or the body.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use keyhouse_core::oauth::client_auth::{ClientAuthMethod, ClientCredentials};
use keyhouse_core::oauth::error::OAuthError;
use serde_json::Value;

use crate::extract::basic_credentials;

/// Parameters by name; a parameter sent without a value counts as absent (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// The value of `name`, if sent and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn invalid(msg: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequest(msg.into())
}

/// Parses the body by its content type. Repeated parameters are refused
/// (RFC 6749 §3.1); JSON values must be strings (numbers are taken as text).
pub fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let mut params = HashMap::new();
    if essence == "application/x-www-form-urlencoded" {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| invalid("The form body is not valid application/x-www-form-urlencoded"))?;
        for (name, value) in pairs {
            if params.insert(name.clone(), value).is_some() {
                return Err(invalid(format!("Parameter '{}' is repeated", short(&name))));
            }
        }
    } else if essence == "application/json" {
        let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
            .map_err(|_| invalid("The body is not a valid JSON object"))?;
        for (name, value) in object {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(invalid(format!(
                        "Parameter '{}' must be a string",
                        short(&name)
                    )))
                }
            };
            params.insert(name, text);
        }
    } else {
        return Err(invalid(
            "Content-Type must be application/x-www-form-urlencoded or application/json",
        ));
    }
    Ok(Params(params))
}

/// The client's credentials: HTTP Basic (client_secret_basic, id and secret
/// form-urlencoded first, RFC 6749 §2.3.1) or `client_id`/`client_secret` in the
/// body; using both at once is refused (checklist CA-05). A non-Basic
/// `Authorization` header (e.g. a stale bearer from anypoint-cli-v4) is ignored.
pub fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if let Some((user, password)) = basic_credentials(headers) {
        let decode = |raw: &str| {
            form_urlencoded_decode(raw).ok_or_else(|| invalid("Malformed Basic credentials"))
        };
        let (id, secret) = (decode(&user)?, decode(&password)?);
        if body_secret.is_some() || body_id.is_some_and(|b| b != id) {
            return Err(invalid("Use one client authentication method, not two"));
        }
        return Ok(Some(ClientCredentials {
            client_id: id,
            client_secret: secret,
            method: ClientAuthMethod::Basic,
        }));
    }
    Ok(match (body_id, body_secret) {
        (Some(id), Some(secret)) => Some(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
            method: ClientAuthMethod::Post,
        }),
        // A public client identifies itself without authenticating (RFC 6749 §3.2.1).
        (Some(id), None) => Some(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: String::new(),
            method: ClientAuthMethod::None,
        }),
        _ => None,
    })
}

/// Refuses credentials in the URL (RFC 6749 §2.3.1 / §3.2: never in the request URI).
pub fn refuse_query_secrets(query: Option<&str>) -> Result<(), OAuthError> {
    let Some(query) = query else { return Ok(()) };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    if pairs.iter().any(|(k, _)| {
        matches!(
            k.as_str(),
            "client_secret"
                | "password"
                | "token"
                | "assertion"
                | "refresh_token"
                | "code_verifier"
        )
    }) {
        return Err(invalid(
            "Credentials must be sent in the request body, never in the URL",
        ));
    }
    Ok(())
}

/// Decodes one `application/x-www-form-urlencoded` value.
fn form_urlencoded_decode(raw: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&format!("v={}", raw.replace('&', "%26"))).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

fn short(name: &str) -> String {
    name.chars().take(40).collect()
}
