//! Sign-in through an upstream OpenID Connect provider (issue 6 §4): the
//! start link of each "sign in with" button, the callback the upstream sends
//! the browser back to, and the login-domain page. Every failure is an error
//! page: nothing here redirects to a URL a caller chose (the only redirects
//! are to the provider's discovered authorization endpoint and to this
//! server's own authorization endpoint).

pub mod saml;
pub mod upstream;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use keyhouse_core::federation::FederationFailure;
use keyhouse_core::oauth::authorize::after_sign_in;
use keyhouse_core::service::{FederatedSignIn, FederationCallback};
use keyhouse_core::CoreError;

use crate::extract::ClientIp;
use crate::pages::authorize::{failure_page, sign_in_page, SignInView, HOME_PATH};
use crate::pages::{cookie_value, error_page, see_other, Cookies};
use crate::AppState;

/// Where a federated sign-in resumes an authorization request.
const AUTHORIZE_PATH: &str = "/accounts/api/v2/oauth2/authorize";

pub(crate) type Pairs = Vec<(String, String)>;

/// The cookie binding a pending federated sign-in to the browser that
/// started it (`__Host-` and `Secure` on https, like the other cookies).
pub(crate) fn binding_cookie_name(issuer: &str) -> &'static str {
    if issuer.starts_with("https://") {
        "__Host-keyhouse_federation"
    } else {
        "keyhouse_federation"
    }
}

pub(crate) fn bad_request() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This request is not valid",
        "The request could not be read: its parameters are not properly encoded.",
    )
}

/// The query's parameters; `None` when malformed or when a name repeats.
pub(crate) fn query_pairs(raw: Option<&str>) -> Option<Pairs> {
    let pairs: Pairs = serde_urlencoded::from_str(raw.unwrap_or_default()).ok()?;
    let repeated = pairs
        .iter()
        .enumerate()
        .any(|(i, (name, _))| pairs[..i].iter().any(|(n, _)| n == name));
    (!repeated).then_some(pairs)
}

pub(crate) fn param<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The error page for a sign-in that did not happen.
pub(crate) fn failure_response(failure: &FederationFailure) -> Response {
    let status = match failure {
        FederationFailure::UnknownProvider => StatusCode::NOT_FOUND,
        FederationFailure::InvalidState | FederationFailure::AssertionRejected(_) => {
            StatusCode::BAD_REQUEST
        }
        FederationFailure::UpstreamRefused(_)
        | FederationFailure::InvalidUsername(_)
        | FederationFailure::UserDisabled => StatusCode::FORBIDDEN,
        FederationFailure::UpstreamFailed => StatusCode::BAD_GATEWAY,
        FederationFailure::UsernameTaken(_) => StatusCode::CONFLICT,
    };
    error_page(status, failure.title(), &failure.message())
}

fn upstream_missing(detail: &str) -> Response {
    tracing::error!(%detail, "the OpenID Connect client could not be built");
    failure_response(&FederationFailure::UpstreamFailed)
}

/// `GET /accounts/login/oidc/{providerId}/start[?request=…]`: remembers the
/// sign-in (state, nonce, PKCE verifier, the request to resume), binds it to
/// this browser with a cookie, and sends the browser to the upstream.
pub async fn start(
    State(state): State<AppState>,
    source: ClientIp,
    Path(provider_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(pairs) = query_pairs(query.as_deref()) else {
        return bad_request();
    };
    let Some(request) = resumable_request(&pairs) else {
        return bad_request();
    };
    let upstream = match upstream::shared() {
        Ok(found) => found,
        Err(err) => return upstream_missing(&err.to_string()),
    };
    let started = state
        .keyhouse
        .federation_start(upstream, &provider_id, &request, source.0)
        .await;
    match started {
        Ok(Ok(start)) => {
            let issuer = &state.keyhouse.settings().issuer;
            let cookies = Cookies::for_issuer(issuer);
            let mut response = see_other(&start.redirect);
            if let Some(value) = cookies.set(
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

/// `GET /accounts/login/oidc/callback?code=…&state=…` (or `error=…`): the
/// upstream sends the browser back here. On success the browser gets a new
/// session cookie (the same name and flags as a password sign-in) and goes
/// on with the authorization request it started from.
pub async fn callback(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let issuer = state.keyhouse.settings().issuer.clone();
    let cookies = Cookies::for_issuer(&issuer);
    let binding_name = binding_cookie_name(&issuer);
    let Some(pairs) = query_pairs(query.as_deref()) else {
        return bad_request();
    };
    let binding = cookie_value(&headers, binding_name);
    let callback = FederationCallback {
        state: param(&pairs, "state"),
        code: param(&pairs, "code"),
        error: param(&pairs, "error"),
        iss: param(&pairs, "iss"),
        binding_cookie: binding.as_deref(),
    };
    let upstream = match upstream::shared() {
        Ok(found) => found,
        Err(err) => return upstream_missing(&err.to_string()),
    };
    let finished = state
        .keyhouse
        .federation_finish(upstream, callback, source.0)
        .await;
    let mut response = match finished {
        Ok(Ok(done)) => signed_in(cookies, &done, HOME_PATH),
        Ok(Err(failure)) => failure_response(&failure),
        Err(err) => failure_page(err),
    };
    // The binding has done its job either way.
    if binding.is_some() {
        if let Some(value) = cookies.set(binding_name, "", 0) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The answer to a finished federated sign-in: the new session cookie, and
/// a redirect to the authorization request it resumes, or to `otherwise`
/// (a path of this server) when it resumes none.
pub(crate) fn signed_in(cookies: Cookies, done: &FederatedSignIn, otherwise: &str) -> Response {
    let resume: Pairs = serde_urlencoded::from_str(&done.request).unwrap_or_default();
    let next = if resume.is_empty() {
        otherwise.to_owned()
    } else {
        let query = serde_urlencoded::to_string(after_sign_in(&resume)).unwrap_or_default();
        format!("{AUTHORIZE_PATH}?{query}")
    };
    let mut response = see_other(&next);
    if let Some(value) = cookies.set(
        cookies.session_name(),
        &done.session.cookie,
        done.session.max_age_secs,
    ) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A sanitized copy of the `request` query parameter (an encoded
/// authorization request), re-encoded from its parameters so only a
/// well-formed query string is ever appended to the authorization path;
/// `None` when malformed.
pub(crate) fn resumable_request(pairs: &Pairs) -> Option<String> {
    let request = param(pairs, "request").unwrap_or_default();
    let inner = serde_urlencoded::from_str::<Pairs>(request).ok()?;
    Some(serde_urlencoded::to_string(&inner).unwrap_or_default())
}

/// `GET /accounts/login/{orgDomain}`: the sign-in page of one organization,
/// with its identity providers (and those of its business groups) next to
/// the password form. Signing in there ends on the authorized-apps page.
pub async fn login_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
) -> Response {
    match state.keyhouse.login_domain_page(&domain).await {
        Ok(Some(found)) => sign_in_page(
            &state,
            &headers,
            StatusCode::OK,
            SignInView {
                org_name: Some(&found.org_name),
                providers: &found.providers,
                ..SignInView::default()
            },
        ),
        Ok(None) => error_page(
            StatusCode::NOT_FOUND,
            "This sign-in address is not known",
            "No organization uses this sign-in address. Check the address with your administrator.",
        ),
        Err(err) => failure_page(err),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn queries_with_repeated_names_are_refused() {
        assert!(query_pairs(Some("state=a&code=b")).is_some());
        assert!(query_pairs(Some("state=a&state=b")).is_none());
        assert!(query_pairs(None).is_some_and(|p| p.is_empty()));
        assert_eq!(
            binding_cookie_name("https://kh"),
            "__Host-keyhouse_federation"
        );
        assert_eq!(
            binding_cookie_name("http://127.0.0.1:1"),
            "keyhouse_federation"
        );
    }
}
