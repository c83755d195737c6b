//! SAML 2.0 endpoints (issue 6 §2, §3):
//! - `POST /accounts/login/receive-id` and
//!   `POST /accounts/login/{orgDomain}/providers/{providerId}/receive-id`:
//!   with JSON `{"SAMLResponse": …}` an API token (Anypoint's shape); as a
//!   browser form post (the HTTP-POST binding) a browser session;
//! - `GET /accounts/login/saml/{providerId}/start`: SP-initiated sign-in;
//! - `GET /accounts/saml/metadata`: Keyhouse's service-provider metadata;
//! - `GET|POST /accounts/logout/receive-id`: single logout.
//!
//! The only redirects go to the provider's configured SSO URL, to this
//! server's own paths, or to a `redirect_uri`/`RelayState` on this server.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyhouse_core::federation::FederationFailure;
use keyhouse_core::service::{SamlPost, SAML_ACS_PATH};
use keyhouse_core::CoreError;
use serde::Deserialize;
use serde_json::json;

use super::{
    bad_request, binding_cookie_name, failure_response, param, query_pairs, resumable_request,
    signed_in, Pairs,
};
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::pages::authorize::{failure_page, HOME_PATH};
use crate::pages::{cookie_value, error_page, see_other, Cookies};
use crate::AppState;

/// `{"SAMLResponse": "<base64>"}` (Anypoint's receive-id body).
#[derive(Deserialize)]
struct ReceiveIdBody {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
}

/// The path of the per-provider endpoint, when that is the one called.
#[derive(Deserialize)]
pub struct ProviderPath {
    org_domain: String,
    provider_id: String,
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// `POST /accounts/login/receive-id`.
pub async fn receive_id(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(
        &state,
        source,
        &headers,
        &body,
        SAML_ACS_PATH.to_owned(),
        None,
    )
    .await
}

/// `POST /accounts/login/{orgDomain}/providers/{providerId}/receive-id`.
pub async fn receive_id_for_provider(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    Path(path): Path<ProviderPath>,
    body: Bytes,
) -> Response {
    let acs = format!(
        "/accounts/login/{}/providers/{}/receive-id",
        path.org_domain, path.provider_id
    );
    receive(&state, source, &headers, &body, acs, Some(&path)).await
}

async fn receive(
    state: &AppState,
    source: ClientIp,
    headers: &HeaderMap,
    body: &[u8],
    acs_path: String,
    path: Option<&ProviderPath>,
) -> Response {
    let issuer = state.keyhouse.settings().issuer.clone();
    let acs_url = format!("{issuer}{acs_path}");
    let provider_id = path.map(|p| p.provider_id.as_str());
    let org_domain = path.map(|p| p.org_domain.as_str());
    match content_type(headers).as_str() {
        "application/json" => {
            let Ok(parsed) = serde_json::from_slice::<ReceiveIdBody>(body) else {
                return ApiError::bad_request("The body must be a JSON object with SAMLResponse")
                    .into_response();
            };
            let Some(response) = parsed.saml_response.filter(|r| !r.is_empty()) else {
                return ApiError::bad_request("SAMLResponse is required").into_response();
            };
            let post = SamlPost {
                response: &response,
                acs_url: &acs_url,
                provider_id,
                org_domain,
                binding_cookie: None,
            };
            match state.keyhouse.saml_api_token(post, source.0).await {
                Ok(Ok(issued)) => Json(json!({
                    "access_token": issued.access_token,
                    "token_type": "bearer",
                    "redirectUrl": "/home/",
                }))
                .into_response(),
                Ok(Err(failure)) => api_failure(&failure).into_response(),
                Err(err) => ApiError::from(err).into_response(),
            }
        }
        "application/x-www-form-urlencoded" => {
            browser_post(
                state,
                source,
                headers,
                body,
                &acs_url,
                provider_id,
                org_domain,
            )
            .await
        }
        _ => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the SAMLResponse as JSON or as a form",
        )
        .into_response(),
    }
}

/// A refused `receive-id` in Anypoint's error shape: 401 when the response
/// proves nothing, 403 when it names a person who cannot sign in here.
fn api_failure(failure: &FederationFailure) -> ApiError {
    let status = match failure {
        FederationFailure::InvalidUsername(_)
        | FederationFailure::UsernameTaken(_)
        | FederationFailure::UserDisabled => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, failure.message())
}

/// The HTTP-POST binding: the browser brings `SAMLResponse` (and
/// `RelayState`) from the identity provider.
#[allow(clippy::too_many_arguments)]
async fn browser_post(
    state: &AppState,
    source: ClientIp,
    headers: &HeaderMap,
    body: &[u8],
    acs_url: &str,
    provider_id: Option<&str>,
    org_domain: Option<&str>,
) -> Response {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Pairs>(body) else {
        return bad_request();
    };
    let Some(response) = param(&pairs, "SAMLResponse").filter(|r| !r.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This request is not valid",
            "The identity provider's answer (SAMLResponse) is missing.",
        );
    };
    let issuer = state.keyhouse.settings().issuer.clone();
    let cookies = Cookies::for_issuer(&issuer);
    let binding_name = binding_cookie_name(&issuer);
    let binding = cookie_value(headers, binding_name);
    let post = SamlPost {
        response,
        acs_url,
        provider_id,
        org_domain,
        binding_cookie: binding.as_deref(),
    };
    let mut answer = match state.keyhouse.saml_browser_sign_in(post, source.0).await {
        Ok(Ok(done)) => {
            let relay = param(&pairs, "RelayState").and_then(local_path);
            signed_in(cookies, &done, relay.unwrap_or(HOME_PATH))
        }
        Ok(Err(failure)) => failure_response(&failure),
        Err(err) => failure_page(err),
    };
    if binding.is_some() {
        if let Some(value) = cookies.set(binding_name, "", 0) {
            answer.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    answer
}

/// A `RelayState` or `redirect_uri` is followed only when it is a path on
/// this server (checklist SM-08: never an open redirect).
fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control)
        && raw.len() <= 2048;
    ok.then_some(raw)
}

/// `GET /accounts/login/saml/{providerId}/start[?request=…]`: sends the
/// browser to the provider with an `AuthnRequest` (HTTP-Redirect binding).
pub async fn start(
    State(state): State<AppState>,
    Path(provider_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(request) = query_pairs(query.as_deref()).and_then(|p| resumable_request(&p)) else {
        return bad_request();
    };
    match state.keyhouse.saml_start(&provider_id, &request).await {
        Ok(Ok(start)) => {
            let issuer = &state.keyhouse.settings().issuer;
            let mut response = see_other(&start.redirect);
            // The identity provider posts back cross-site: on https the
            // binding cookie must be SameSite=None to come along.
            if let Some(value) = Cookies::for_issuer(issuer).set_cross_site(
                binding_cookie_name(issuer),
                &start.binding_cookie,
                start.max_age_secs,
            ) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Err(failure)) => failure_response(&failure),
        Err(CoreError::Validation(message)) => error_page(
            StatusCode::BAD_REQUEST,
            "This request is not valid",
            &message,
        ),
        Err(err) => failure_page(err),
    }
}

/// `GET /accounts/saml/metadata`: the SP metadata an administrator gives
/// the identity provider (entity id, ACS, logout; assertions must be signed).
pub async fn metadata(State(state): State<AppState>) -> Response {
    let xml = state.keyhouse.saml_service_provider().metadata_xml();
    let mut response = (StatusCode::OK, xml).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

/// `GET|POST /accounts/logout/receive-id[?redirect_uri=…]`: ends this
/// browser's Keyhouse session (the identity provider's single logout lands
/// here) and goes on to `redirect_uri` when it is a path on this server.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let issuer = state.keyhouse.settings().issuer.clone();
    let cookies = Cookies::for_issuer(&issuer);
    if let Some(session) = cookie_value(&headers, cookies.session_name()) {
        if let Err(err) = state.keyhouse.browser_sign_out(&session).await {
            return failure_page(err);
        }
    }
    let pairs = query_pairs(query.as_deref()).unwrap_or_default();
    let mut response = match param(&pairs, "redirect_uri").and_then(local_path) {
        Some(next) => see_other(next),
        None => error_page(
            StatusCode::OK,
            "You are signed out",
            "Your Keyhouse session has ended.",
        ),
    };
    if let Some(value) = cookies.set(cookies.session_name(), "", 0) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path("/accounts/authorizations"),
            Some("/accounts/authorizations")
        );
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
