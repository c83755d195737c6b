//! `GET|POST /accounts/api/v2/oauth2/authorize` and the two forms behind it:
//! `/accounts/authorize/login` and `/accounts/authorize/consent`.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keyhouse_core::federation::ProviderLink;
use keyhouse_core::oauth::authorize::{after_sign_in, AuthorizeOutcome};
use keyhouse_core::service::BrowserSignIn;
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::{
    cookie_value, cross_site, error_page, form_token, page, random_value, see_other, templates,
    tokens_match, Cookies,
};
use crate::extract::ClientIp;
use crate::AppState;

const AUTHORIZE_PATH: &str = "/accounts/api/v2/oauth2/authorize";
/// Where a sign-in that was not part of an authorization request ends.
pub(crate) const HOME_PATH: &str = "/accounts/authorizations";

type Pairs = Vec<(String, String)>;

fn parse_pairs(raw: &str) -> Option<Pairs> {
    serde_urlencoded::from_str(raw).ok()
}

fn encode_pairs(pairs: &Pairs) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn bad_request() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This request is not valid",
        "The request could not be read: its parameters are not properly encoded.",
    )
}

/// The page for a core failure that is not the user's doing.
pub(crate) fn failure_page(err: CoreError) -> Response {
    match err {
        CoreError::Unavailable(detail) => {
            tracing::error!(%detail, "storage unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Keyhouse is temporarily unavailable",
                "Please try again in a moment.",
            )
        }
        other => {
            tracing::error!(error = %other, "authorization page failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Keyhouse could not complete this request.",
            )
        }
    }
}

/// What a sign-in page shows besides the form.
#[derive(Default)]
pub(crate) struct SignInView<'a> {
    pub app_name: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The authorization request to resume (empty: go to the authorized-apps page).
    pub request: &'a str,
    pub login_hint: Option<&'a str>,
    pub form_origin: Option<&'a str>,
    /// The organization of a login-domain page (`/accounts/login/{domain}`).
    pub org_name: Option<&'a str>,
    /// Identity providers offered next to the password form (one link each,
    /// starting a federated sign-in that resumes `request`).
    pub providers: &'a [ProviderLink],
}

/// The link that starts a federated sign-in through `provider` and then
/// resumes `request` (the encoded authorization request; empty for none).
fn idp_link(provider: &ProviderLink, request: &str) -> templates::IdpLink {
    let start = provider.start_path.clone();
    let href = if request.is_empty() {
        start
    } else {
        let query = serde_urlencoded::to_string([("request", request)]).unwrap_or_default();
        format!("{start}?{query}")
    };
    templates::IdpLink {
        id: provider.id.to_string(),
        name: provider.name.clone(),
        href,
    }
}

/// A sign-in page, setting the pre-login CSRF cookie when the browser has none.
pub(crate) fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    view: SignInView<'_>,
) -> Response {
    let cookies = Cookies::for_issuer(&state.keyhouse.settings().issuer);
    let existing = cookie_value(headers, cookies.csrf_name());
    let csrf = existing.clone().unwrap_or_else(random_value);
    let links: Vec<templates::IdpLink> = view
        .providers
        .iter()
        .map(|p| idp_link(p, view.request))
        .collect();
    let content = templates::SignInContent {
        app_name: view.app_name,
        org_name: view.org_name,
        error: view.error,
        login_hint: view.login_hint,
        providers: &links,
    };
    let body = templates::sign_in(&content, &csrf, view.request);
    let mut response = page(status, body, view.form_origin);
    if existing.is_none() {
        if let Some(value) = cookies.set(cookies.csrf_name(), &csrf, 3600) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Turns a core outcome into the response the browser gets.
fn respond(
    state: &AppState,
    headers: &HeaderMap,
    request: &str,
    outcome: AuthorizeOutcome,
) -> Response {
    match outcome {
        AuthorizeOutcome::ErrorPage { message } => error_page(
            StatusCode::BAD_REQUEST,
            "This app's request cannot be accepted",
            &message,
        ),
        AuthorizeOutcome::Redirect(url) => see_other(&url),
        AuthorizeOutcome::SignIn(p) => sign_in_page(
            state,
            headers,
            if p.error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            SignInView {
                app_name: Some(&p.app_name),
                error: p.error.as_deref(),
                request,
                login_hint: p.login_hint.as_deref(),
                form_origin: Some(&p.redirect_origin),
                providers: &p.providers,
                ..SignInView::default()
            },
        ),
        AuthorizeOutcome::Consent(p) => {
            let cookies = Cookies::for_issuer(&state.keyhouse.settings().issuer);
            let session = cookie_value(headers, cookies.session_name()).unwrap_or_default();
            let csrf = form_token(&session, "consent", request);
            page(
                StatusCode::OK,
                templates::consent(&p, &csrf, request),
                Some(&p.redirect_origin),
            )
        }
    }
}

async fn run(state: AppState, headers: HeaderMap, source: ClientIp, pairs: Pairs) -> Response {
    let cookies = Cookies::for_issuer(&state.keyhouse.settings().issuer);
    let session = cookie_value(&headers, cookies.session_name());
    let request = encode_pairs(&pairs);
    match state
        .keyhouse
        .authorization_request(&pairs, session.as_deref(), source.0)
        .await
    {
        Ok(outcome) => respond(&state, &headers, &request, outcome),
        Err(err) => failure_page(err),
    }
}

/// `GET /accounts/api/v2/oauth2/authorize` (RFC 6749 §4.1.1).
#[utoipa::path(
    get,
    path = "/accounts/api/v2/oauth2/authorize",
    tag = "oauth",
    operation_id = "authorize",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = Option<String>, Query, description = "Must be registered for the app"),
        ("scope" = Option<String>, Query, description = "Space-separated; `openid` for an ID token"),
        ("state" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query, description = "PKCE (RFC 7636), S256"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("nonce" = Option<String>, Query),
        ("prompt" = Option<String>, Query, description = "`none`, `login` or `consent`"),
    ),
    responses(
        (status = 200, description = "Sign-in or consent page", content_type = "text/html", body = String),
        (status = 303, description = "Back to the redirect URI with `code` (or `error`) and `state`"),
        (status = 400, description = "Invalid request that cannot be sent back (HTML error page)", content_type = "text/html"),
    )
)]
pub async fn authorize_get(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match parse_pairs(query.as_deref().unwrap_or_default()) {
        Some(pairs) => run(state, headers, source, pairs).await,
        None => bad_request(),
    }
}

/// `POST /accounts/api/v2/oauth2/authorize` with a form body (OIDC Core §3.1.2.1).
#[utoipa::path(
    post,
    path = "/accounts/api/v2/oauth2/authorize",
    tag = "oauth",
    operation_id = "authorizePost",
    request_body(content_type = "application/x-www-form-urlencoded",
        description = "The parameters of the GET form, in the body"),
    responses(
        (status = 200, description = "Sign-in or consent page", content_type = "text/html", body = String),
        (status = 303, description = "Back to the redirect URI with `code` (or `error`) and `state`"),
        (status = 400, description = "Invalid request that cannot be sent back (HTML error page)", content_type = "text/html"),
    )
)]
pub async fn authorize_post(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match std::str::from_utf8(&body).ok().and_then(parse_pairs) {
        Some(pairs) => run(state, headers, source, pairs).await,
        None => bad_request(),
    }
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
}

fn expired_form() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this browser session. Go back to the application and start again.",
    )
}

/// `POST /accounts/authorize/login`: checks the password, opens a browser
/// session (a new cookie value, SE-04) and resumes the authorization request.
#[utoipa::path(
    post,
    path = "/accounts/authorize/login",
    tag = "pages",
    operation_id = "pageSignIn",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to the authorization request (or the MFA step)"),
        (status = 400, description = "Unreadable form or request (HTML error page)", content_type = "text/html"),
        (status = 401, description = "Wrong credentials: the form again", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return bad_request();
    };
    let cookies = Cookies::for_issuer(&state.keyhouse.settings().issuer);
    let csrf_cookie = cookie_value(&headers, cookies.csrf_name()).unwrap_or_default();
    if cross_site(&headers) || !tokens_match(&csrf_cookie, &form.csrf) {
        return expired_form();
    }
    let Some(pairs) = parse_pairs(&form.request) else {
        return bad_request();
    };
    match state
        .keyhouse
        .browser_sign_in(&form.username, &form.password, source.0)
        .await
    {
        Ok(BrowserSignIn::Session(session)) => {
            let next = if pairs.is_empty() {
                HOME_PATH.to_owned()
            } else {
                format!("{AUTHORIZE_PATH}?{}", encode_pairs(&after_sign_in(&pairs)))
            };
            let mut response = see_other(&next);
            if let Some(value) = cookies.set(
                cookies.session_name(),
                &session.cookie,
                session.max_age_secs,
            ) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        // The password was right but a second factor is next (MFA).
        Ok(pending) => super::mfa::pending_sign_in(cookies, pending, &form.request),
        Err(err) => {
            let (status, message) = match err {
                CoreError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "Wrong username or password.".to_owned(),
                ),
                CoreError::Validation(msg) => (StatusCode::BAD_REQUEST, msg),
                CoreError::Throttled { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed attempts. Try again in {retry_after_secs} seconds."),
                ),
                other => return failure_page(other),
            };
            retry_sign_in(&state, &headers, status, &message, &form.request, &pairs).await
        }
    }
}

async fn retry_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
    request: &str,
    pairs: &Pairs,
) -> Response {
    if pairs.is_empty() {
        let view = SignInView {
            error: Some(message),
            ..SignInView::default()
        };
        return sign_in_page(state, headers, status, view);
    }
    match state.keyhouse.sign_in_again(pairs, message).await {
        Ok(AuthorizeOutcome::SignIn(p)) => sign_in_page(
            state,
            headers,
            status,
            SignInView {
                app_name: Some(&p.app_name),
                error: Some(message),
                request,
                login_hint: None,
                form_origin: Some(&p.redirect_origin),
                providers: &p.providers,
                ..SignInView::default()
            },
        ),
        Ok(other) => respond(state, headers, request, other),
        Err(err) => failure_page(err),
    }
}

/// The consent form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// `POST /accounts/authorize/consent`: Allow or Deny, only with a token bound
/// to this browser session and this request (SE-03).
#[utoipa::path(
    post,
    path = "/accounts/authorize/consent",
    tag = "pages",
    operation_id = "pageConsent",
    request_body(content = ConsentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the redirect URI with the code, or `access_denied`"),
        (status = 400, description = "Unreadable form or request (HTML error page)", content_type = "text/html"),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn consent(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return bad_request();
    };
    let cookies = Cookies::for_issuer(&state.keyhouse.settings().issuer);
    let session = cookie_value(&headers, cookies.session_name()).unwrap_or_default();
    let expected = form_token(&session, "consent", &form.request);
    if session.is_empty() || cross_site(&headers) || !tokens_match(&expected, &form.csrf) {
        return expired_form();
    }
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return bad_request(),
    };
    let Some(pairs) = parse_pairs(&form.request) else {
        return bad_request();
    };
    match state
        .keyhouse
        .consent_decision(&pairs, Some(&session), allow, source.0)
        .await
    {
        Ok(outcome) => respond(&state, &headers, &form.request, outcome),
        Err(err) => failure_page(err),
    }
}
