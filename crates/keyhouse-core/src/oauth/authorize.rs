//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): validates
//! the request in two stages and decides what the browser sees next. Errors
//! about the client or redirect URI are shown, never redirected (RFC 6749
//! §4.1.2.1, checklist AZ-02); every other error goes back to the app.
//! The core returns outcomes; the HTTP layer renders them (architecture guide).

use std::collections::HashMap;
use std::sync::Arc;

use crate::access::{Audience, GrantType, User};
use crate::ids::truncate;
use crate::oauth::pkce;
use crate::oauth::scope::{lookup, requested_subset};
use crate::service::CachedApp;
use crate::time_fmt::Timestamp;

/// Longest `state`, `nonce` or `login_hint` accepted (bounded input, checklist IL).
const PARAM_MAX_CHARS: usize = 2048;

/// What the browser is shown or sent to next.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeOutcome {
    /// Unknown client or bad redirect URI: an error page, no redirect (AZ-02).
    ErrorPage { message: String },
    /// `303 See Other` to this URL (the app's redirect URI with a code or an error).
    Redirect(String),
    /// The sign-in form.
    SignIn(SignInPage),
    /// The consent form.
    Consent(ConsentPage),
}

/// What the sign-in page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInPage {
    pub app_name: String,
    pub login_hint: Option<String>,
    /// Set after a failed attempt.
    pub error: Option<String>,
    /// Origin of the app's redirect URI, for the page's CSP `form-action`.
    pub redirect_origin: String,
    /// Identity providers of the app's organization tree: one "sign in with"
    /// button each (issue 6 §4).
    pub providers: Vec<crate::federation::ProviderLink>,
}

/// One requested scope in plain words.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

/// What the consent page shows (checklist AZ-18).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentPage {
    pub app_name: String,
    pub org_name: String,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// Who is signed in, so a person on a shared machine notices.
    pub user_name: String,
    pub scopes: Vec<ScopeLine>,
    pub redirect_origin: String,
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request whose client and redirect URI are trusted (stage 1 passed).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub app: Arc<CachedApp>,
    /// Where answers go.
    pub redirect_uri: String,
    /// The `redirect_uri` parameter as sent, if it was (bound into the code, CG-04).
    pub redirect_param: Option<String>,
    pub state: Option<String>,
}

/// A fully valid authorization request (stage 2 passed).
#[derive(Debug, Clone)]
pub(crate) struct ValidRequest {
    pub target: Target,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// Parameters by name; names sent twice are remembered so they can be refused (AZ-13).
pub(crate) struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    pub(crate) fn new(pairs: &[(String, String)]) -> Self {
        let mut values = HashMap::new();
        let mut repeated = Vec::new();
        for (name, value) in pairs {
            if values.insert(name.clone(), value.clone()).is_some() {
                repeated.push(name.clone());
            }
        }
        Self { values, repeated }
    }

    /// A parameter's value; empty counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }
}

/// Stage 1: the client and the redirect URI. `Err` is the text of an error page.
pub(crate) fn check_target(params: &Params, app: Option<Arc<CachedApp>>) -> Result<Target, String> {
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return Err("client_id and redirect_uri must each be sent once.".to_owned());
    }
    let Some(app) = app.filter(|a| a.app.enabled) else {
        return Err(match params.get("client_id") {
            None => "The request names no application (client_id is missing).".to_owned(),
            Some(_) => "The application that sent you here is not known to Keyhouse.".to_owned(),
        });
    };
    if !app.app.allows(GrantType::AuthorizationCode) {
        return Err(format!(
            "The application '{}' is not allowed to ask users for access.",
            app.app.name
        ));
    }
    let openid = params
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|p| p == "openid"));
    let redirect_param = params.get("redirect_uri").map(str::to_owned);
    // Exact, character-for-character comparison (RFC 9700 §4.1.3, AZ-01).
    let redirect_uri = match &redirect_param {
        Some(given) if app.app.redirect_uris.iter().any(|r| r == given) => given.clone(),
        Some(_) => {
            return Err(
                "The redirect address in the request is not registered for this application."
                    .to_owned(),
            )
        }
        None if app.app.redirect_uris.len() == 1 && !openid => app.app.redirect_uris[0].clone(),
        None => return Err("The request must name its redirect_uri.".to_owned()),
    };
    let state = params.get("state").map(str::to_owned);
    Ok(Target {
        app,
        redirect_uri,
        redirect_param,
        state,
    })
}

/// Stage 2: everything else. `Err` is `(error code, description)` for the app.
pub(crate) fn check_request(
    params: &Params,
    target: Target,
) -> Result<ValidRequest, (Target, &'static str, String)> {
    let fail = |t: Target, code: &'static str, msg: String| Err((t, code, msg));
    if let Some(name) = params.repeated.first() {
        return fail(
            target,
            "invalid_request",
            format!("Parameter '{}' is repeated", truncate(name)),
        );
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return fail(
                target,
                "invalid_request",
                "response_type is required".to_owned(),
            )
        }
        Some(other) => {
            return fail(
                target,
                "unsupported_response_type",
                format!(
                    "response_type '{}' is not supported; use code",
                    truncate(other)
                ),
            )
        }
    }
    if params.get("request").is_some() {
        return fail(
            target,
            "request_not_supported",
            "Request objects are not supported".to_owned(),
        );
    }
    if params.get("request_uri").is_some() {
        return fail(
            target,
            "request_uri_not_supported",
            "request_uri is not supported".to_owned(),
        );
    }
    for name in ["state", "nonce", "login_hint"] {
        if params
            .get(name)
            .is_some_and(|v| v.chars().count() > PARAM_MAX_CHARS)
        {
            return fail(target, "invalid_request", format!("{name} is too long"));
        }
    }
    let registered = &target.app.app.scopes;
    let scopes: Vec<String> = match params.get("scope") {
        None => registered.clone(),
        Some(raw) => match requested_subset(raw, |s| registered.iter().any(|r| r == s)) {
            Ok(out) => out,
            Err(s) => {
                let msg = format!("The app may not ask for the scope '{}'", truncate(s));
                return fail(target, "invalid_scope", msg);
            }
        },
    };
    if scopes.is_empty() {
        return fail(target, "invalid_scope", "No scope was requested".to_owned());
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            return fail(
                target,
                "invalid_request",
                "code_challenge_method without code_challenge".to_owned(),
            )
        }
        (Some(c), Some("S256")) if pkce::valid_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return fail(
                target,
                "invalid_request",
                "code_challenge must be 43 base64url characters".to_owned(),
            )
        }
        (Some(_), _) => {
            return fail(
                target,
                "invalid_request",
                "Only the S256 code_challenge_method is supported".to_owned(),
            )
        }
    };
    if code_challenge.is_none() && target.app.app.public_client {
        return fail(
            target,
            "invalid_request",
            "Public clients must use PKCE (code_challenge with S256)".to_owned(),
        );
    }
    let mut prompt = Prompt::default();
    for value in params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return fail(
                    target,
                    "invalid_request",
                    format!("prompt '{}' is not supported", truncate(other)),
                )
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return fail(
            target,
            "invalid_request",
            "prompt=none cannot be combined".to_owned(),
        );
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                return fail(
                    target,
                    "invalid_request",
                    "max_age must be a number of seconds".to_owned(),
                )
            }
        },
    };
    Ok(ValidRequest {
        nonce: params.get("nonce").map(str::to_owned),
        login_hint: params.get("login_hint").map(str::to_owned),
        target,
        scopes,
        code_challenge,
        prompt,
        max_age,
    })
}

/// Appends parameters to a registered redirect URI without re-serialising it
/// (the app must get back exactly the URI it registered).
pub(crate) fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

/// `redirect_uri?error=…&error_description=…&state=…&iss=…` (RFC 6749 §4.1.2.1, RFC 9207).
pub(crate) fn error_redirect(
    target: &Target,
    issuer: &str,
    code: &str,
    description: &str,
) -> String {
    let mut pairs = vec![("error", code), ("error_description", description)];
    if let Some(state) = &target.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    redirect_with(&target.redirect_uri, &pairs)
}

/// The scheme, host and port of a URI, for a page's CSP `form-action`.
pub(crate) fn origin_of(uri: &str) -> String {
    url::Url::parse(uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// True when the user may authorize the app: `internal` apps only serve their
/// own organization's tree (Anypoint `audience`).
pub(crate) fn audience_allows(app: &CachedApp, app_root: crate::ids::OrgId, user: &User) -> bool {
    app.app.audience == Audience::Everyone || user.org_id == app_root
}

/// True when a remembered consent covers every requested scope.
pub(crate) fn consent_covers(consented: &str, requested: &[String]) -> bool {
    requested
        .iter()
        .all(|r| consented.split(' ').any(|c| c == r))
}

/// Sorted union of scope lists, as stored in a consent.
pub(crate) fn merge_scopes(consented: Option<&str>, requested: &[String]) -> String {
    let mut all: Vec<&str> = consented
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    all.extend(requested.iter().map(String::as_str));
    all.sort_unstable();
    all.dedup();
    all.join(" ")
}

/// Requested scopes in plain words for the consent page.
pub(crate) fn scope_lines(scopes: &[String]) -> Vec<ScopeLine> {
    scopes
        .iter()
        .map(|name| ScopeLine {
            name: name.clone(),
            description: match name.as_str() {
                "openid" => "Know who you are (your user id and username)".to_owned(),
                "profile" => "See your profile: name, username and organizations".to_owned(),
                "email" => "See your email address".to_owned(),
                "offline_access" => "Keep access while you are away (refresh tokens)".to_owned(),
                "full" => "Do everything you can do in Keyhouse, in your name".to_owned(),
                "read:full" => "See everything you can see in Keyhouse".to_owned(),
                other => {
                    lookup(other).map_or_else(|| other.to_owned(), |s| s.display_name.to_owned())
                }
            },
        })
        .collect()
}

/// True when the session is too old for `max_age` (OIDC Core §3.1.2.1).
pub(crate) fn too_old(auth_time: Timestamp, max_age: Option<i64>, now: Timestamp) -> bool {
    max_age.is_some_and(|secs| now.0 - auth_time.0 > secs.saturating_mul(1000))
}

/// The request to resume after signing in: the same parameters without
/// `prompt=login` and `max_age`, which the sign-in just satisfied (the ID
/// token still carries `auth_time`).
pub fn after_sign_in(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            if name == "max_age" {
                return None;
            }
            if name != "prompt" {
                return Some((name.clone(), value.clone()));
            }
            let rest: Vec<&str> = value
                .split(' ')
                .filter(|p| *p != "login" && !p.is_empty())
                .collect();
            (!rest.is_empty()).then(|| (name.clone(), rest.join(" ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_registered_uri() {
        assert_eq!(
            redirect_with(
                "https://a.example/cb?x=1",
                &[("code", "c d"), ("state", "s&t")]
            ),
            "https://a.example/cb?x=1&code=c+d&state=s%26t"
        );
        assert_eq!(
            redirect_with("https://a.example", &[("code", "c")]),
            "https://a.example?code=c"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/cb"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn scopes_merge_and_cover() {
        let req = vec!["openid".to_owned(), "profile".to_owned()];
        assert_eq!(
            merge_scopes(Some("email openid"), &req),
            "email openid profile"
        );
        assert!(consent_covers("email openid profile", &req));
        assert!(!consent_covers("openid", &req));
    }

    #[test]
    fn prompt_login_is_dropped_after_sign_in() {
        let pairs = vec![
            ("prompt".to_owned(), "login consent".to_owned()),
            ("client_id".to_owned(), "c".to_owned()),
        ];
        assert_eq!(
            after_sign_in(&pairs),
            vec![
                ("prompt".to_owned(), "consent".to_owned()),
                ("client_id".to_owned(), "c".to_owned())
            ]
        );
        assert!(too_old(Timestamp(0), Some(1), Timestamp(1_001)));
        assert!(!too_old(Timestamp(0), Some(1), Timestamp(1_000)));
    }
}
