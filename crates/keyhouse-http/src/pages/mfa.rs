//! The multi-factor authentication pages (issue 6 §5): the code step of the
//! sign-in (`/accounts/authorize/mfa`), and enrollment / turning MFA off
//! (`/accounts/mfa`). Same rules as the other pages: no JavaScript, the
//! security headers of [`super::page`], an HMAC form token bound to the
//! session cookie on every form, `303` after a POST that changes state.
//!
//! The one exception is the answer to a confirmed enrollment: it shows the
//! recovery codes (200) rather than redirecting, because only their hashes
//! are kept and the page is the only time they can be shown.

use axum::extract::rejection::FormRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keyhouse_core::oauth::authorize::after_sign_in;
use keyhouse_core::service::{BrowserSignIn, Enrolled, Enrollment, MfaVisitor, NewBrowserSession};
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::authorize::{failure_page, sign_in_page, SignInView, HOME_PATH};
use super::{
    cookie_value, cross_site, error_page, form_token, page, see_other, tokens_match, Cookies,
};
use crate::extract::ClientIp;
use crate::AppState;

/// The code step of a sign-in.
pub const VERIFY_PATH: &str = "/accounts/authorize/mfa";
/// Enrollment and the MFA settings of the signed-in user.
pub const ENROLL_PATH: &str = "/accounts/mfa";
/// Where the authorization request resumes.
const AUTHORIZE_PATH: &str = "/accounts/api/v2/oauth2/authorize";

/// Form-token purposes (each form's token is valid for that form only).
const VERIFY_PURPOSE: &str = "mfa-verify";
const ENROLL_PURPOSE: &str = "mfa-enroll";
const DISABLE_PURPOSE: &str = "mfa-disable";

mod view {
    use askama::Template;

    #[derive(Template)]
    #[template(path = "mfa_verify.html")]
    pub(super) struct Verify<'a> {
        pub user_name: &'a str,
        pub error: Option<&'a str>,
        pub csrf: &'a str,
        pub request: &'a str,
    }

    #[derive(Template)]
    #[template(path = "mfa_setup.html")]
    pub(super) struct Setup<'a> {
        pub user_name: &'a str,
        pub required: bool,
        pub qr_svg: &'a str,
        pub secret: &'a str,
        pub error: Option<&'a str>,
        pub csrf: &'a str,
        pub request: &'a str,
    }

    #[derive(Template)]
    #[template(path = "mfa_active.html")]
    pub(super) struct Active<'a> {
        pub user_name: &'a str,
        pub recovery_codes_left: u64,
        pub error: Option<&'a str>,
        pub csrf: &'a str,
    }

    #[derive(Template)]
    #[template(path = "mfa_recovery.html")]
    pub(super) struct Recovery<'a> {
        pub codes: &'a [String],
        pub next: &'a str,
    }

    /// Renders, or a bare sentence if a template fails (it cannot, short of a bug).
    pub(super) fn render(template: &impl Template) -> String {
        template.render().unwrap_or_else(|err| {
            tracing::error!(error = %err, "template rendering failed");
            "<!doctype html><title>Keyhouse</title><p>Something went wrong.</p>".to_owned()
        })
    }
}

/// The `otpauth://` URI as an inline SVG QR code (`#mfa-qr`), drawn on the
/// server: no script, no image request.
fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let body = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
    body.replacen(
        "<svg ",
        "<svg id=\"mfa-qr\" role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    )
}

fn cookies(state: &AppState) -> Cookies {
    Cookies::for_issuer(&state.keyhouse.settings().issuer)
}

type Pairs = Vec<(String, String)>;

fn parse_pairs(raw: &str) -> Option<Pairs> {
    serde_urlencoded::from_str(raw).ok()
}

/// Where a finished sign-in goes: the authorization request it interrupted
/// (without `prompt=login`/`max_age`, just satisfied), the console page a
/// console sign-in started from (`next=/console…`, checked again here), or
/// the authorized-apps page.
fn resume_location(request: &str) -> String {
    match parse_pairs(request) {
        Some(pairs) if pairs.len() == 1 && pairs[0].0 == "next" => {
            crate::console::session::safe_next(&pairs[0].1).to_owned()
        }
        Some(pairs) if !pairs.is_empty() => format!(
            "{AUTHORIZE_PATH}?{}",
            serde_urlencoded::to_string(after_sign_in(&pairs)).unwrap_or_default()
        ),
        _ => HOME_PATH.to_owned(),
    }
}

/// An MFA page's URL carrying the authorization request to resume.
fn with_request(path: &str, request: &str) -> String {
    if request.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string([("request", request)]).unwrap_or_default();
    format!("{path}?{query}")
}

/// A redirect that also sets the session cookie.
fn see_other_with_cookie(
    cookies: Cookies,
    location: &str,
    session: &NewBrowserSession,
) -> Response {
    let mut response = see_other(location);
    if let Some(value) = cookies.set(
        cookies.session_name(),
        &session.cookie,
        session.max_age_secs,
    ) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The answer to a right password that opened a pending sign-in (the sign-in
/// form's handler calls this): the pending cookie, and the code page or the
/// enrollment page, carrying the request to resume.
pub(crate) fn pending_sign_in(
    cookies: Cookies,
    signed_in: BrowserSignIn,
    request: &str,
) -> Response {
    match signed_in {
        BrowserSignIn::Session(session) => {
            see_other_with_cookie(cookies, &resume_location(request), &session)
        }
        BrowserSignIn::SecondFactor(pending) => {
            see_other_with_cookie(cookies, &with_request(VERIFY_PATH, request), &pending)
        }
        BrowserSignIn::Enroll(pending) => {
            see_other_with_cookie(cookies, &with_request(ENROLL_PATH, request), &pending)
        }
    }
}

fn expired_form() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this browser session. Go back and try again.",
    )
}

/// The message for a refused code.
fn refusal(err: CoreError) -> Result<(StatusCode, String), CoreError> {
    match err {
        CoreError::InvalidCredentials => Ok((
            StatusCode::UNAUTHORIZED,
            "That code is not valid. Enter the code your app shows now (each code works once), or a recovery code.".to_owned(),
        )),
        CoreError::Throttled { retry_after_secs } => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong codes. Try again in {retry_after_secs} seconds."),
        )),
        other => Err(other),
    }
}

/// The `request` query parameter of the MFA pages (empty when absent or unreadable).
fn request_param(query: Option<&str>) -> String {
    serde_urlencoded::from_str::<Pairs>(query.unwrap_or_default())
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "request"))
        .map(|(_, value)| value)
        .unwrap_or_default()
}

/// The fields of the MFA forms.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    code: String,
}

/// The code page for the pending sign-in behind `session`.
async fn verify_view(
    state: &AppState,
    session: &str,
    request: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let user = match state.keyhouse.mfa_visitor(session).await {
        Ok(MfaVisitor::Verifying(user)) => user,
        Ok(MfaVisitor::Enrolling(_)) => return see_other(&with_request(ENROLL_PATH, request)),
        Ok(MfaVisitor::SignedIn(_) | MfaVisitor::Nobody) => {
            return see_other(&resume_location(request))
        }
        Err(err) => return failure_page(err),
    };
    let origin = match parse_pairs(request) {
        Some(pairs) if !pairs.is_empty() => {
            match state.keyhouse.request_redirect_origin(&pairs).await {
                Ok(origin) => origin,
                Err(err) => return failure_page(err),
            }
        }
        _ => None,
    };
    let csrf = form_token(session, VERIFY_PURPOSE, request);
    let body = view::render(&view::Verify {
        user_name: &user.username,
        error,
        csrf: &csrf,
        request,
    });
    page(status, body, origin.as_deref())
}

/// `GET /accounts/authorize/mfa`: the code step of a sign-in. Without a
/// pending sign-in it sends the browser back to where signing in starts.
#[utoipa::path(
    get,
    path = "/accounts/authorize/mfa",
    tag = "pages",
    operation_id = "pageMfaVerify",
    params(("request" = Option<String>, Query, description = "The authorization request being signed in for")),
    responses(
        (status = 200, description = "The code form", content_type = "text/html", body = String),
        (status = 303, description = "No pending sign-in: back to where signing in starts"),
    ),
)]
pub async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = request_param(query.as_deref());
    let session = cookie_value(&headers, cookies(&state).session_name()).unwrap_or_default();
    verify_view(&state, &session, &request, StatusCode::OK, None).await
}

/// `POST /accounts/authorize/mfa`: a right code opens the browser session
/// (a new cookie value) and resumes the authorization request; a wrong one
/// shows the page again (401).
#[utoipa::path(
    post,
    path = "/accounts/authorize/mfa",
    tag = "pages",
    operation_id = "pageMfaVerifySubmit",
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Right code: signed in, on to the authorization request"),
        (status = 401, description = "Wrong code: the form again", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
)]
pub async fn verify(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired_form();
    };
    let jar = cookies(&state);
    let session = cookie_value(&headers, jar.session_name()).unwrap_or_default();
    let expected = form_token(&session, VERIFY_PURPOSE, &form.request);
    if session.is_empty() || cross_site(&headers) || !tokens_match(&expected, &form.csrf) {
        return expired_form();
    }
    match state
        .keyhouse
        .verify_mfa_sign_in(&session, &form.code, source.0)
        .await
    {
        Ok(signed_in) => see_other_with_cookie(jar, &resume_location(&form.request), &signed_in),
        // No pending sign-in any more: start again.
        Err(CoreError::InvalidToken) => see_other(&resume_location(&form.request)),
        Err(err) => match refusal(err) {
            Ok((status, message)) => {
                verify_view(&state, &session, &form.request, status, Some(&message)).await
            }
            Err(other) => failure_page(other),
        },
    }
}

/// The enrollment page (or MFA's state) for the holder of `session`.
async fn enroll_view(
    state: &AppState,
    headers: &HeaderMap,
    session: &str,
    request: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (user, pending) = match state.keyhouse.mfa_visitor(session).await {
        Ok(MfaVisitor::SignedIn(user)) => (user, false),
        Ok(MfaVisitor::Enrolling(user)) => (user, true),
        Ok(MfaVisitor::Verifying(_)) => return see_other(&with_request(VERIFY_PATH, request)),
        Ok(MfaVisitor::Nobody) => {
            return sign_in_page(state, headers, StatusCode::OK, SignInView::default())
        }
        Err(err) => return failure_page(err),
    };
    match state.keyhouse.mfa_enrollment(&user).await {
        Ok(Enrollment::Active { .. }) if pending => see_other(&with_request(VERIFY_PATH, request)),
        Ok(Enrollment::Active {
            recovery_codes_left,
        }) => {
            let csrf = form_token(session, DISABLE_PURPOSE, "");
            let body = view::render(&view::Active {
                user_name: &user.username,
                recovery_codes_left,
                error,
                csrf: &csrf,
            });
            page(status, body, None)
        }
        Ok(Enrollment::Setup { secret, uri }) => {
            let csrf = form_token(session, ENROLL_PURPOSE, request);
            let body = view::render(&view::Setup {
                user_name: &user.username,
                required: pending,
                qr_svg: &qr_svg(&uri),
                secret: &secret,
                error,
                csrf: &csrf,
                request,
            });
            page(status, body, None)
        }
        Err(err) => failure_page(err),
    }
}

/// `GET /accounts/mfa`: set up MFA (QR code, key, confirmation form), or,
/// when it is on, its state and the form to turn it off. For a pending
/// sign-in whose organization requires MFA, the enrollment step.
#[utoipa::path(
    get,
    path = "/accounts/mfa",
    tag = "pages",
    operation_id = "pageMfaEnroll",
    params(("request" = Option<String>, Query, description = "The authorization request being signed in for")),
    responses(
        (status = 200, description = "Enrollment (QR code and key), the MFA state, or the sign-in form", content_type = "text/html", body = String),
        (status = 303, description = "A pending sign-in that needs no enrollment: on to it"),
    ),
    security((), ("browser_session" = [])),
)]
pub async fn enroll_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = request_param(query.as_deref());
    let session = cookie_value(&headers, cookies(&state).session_name()).unwrap_or_default();
    enroll_view(&state, &headers, &session, &request, StatusCode::OK, None).await
}

/// `POST /accounts/mfa`: confirms enrollment with a code; shows the recovery
/// codes once. For a pending sign-in, this also signs in (new cookie).
#[utoipa::path(
    post,
    path = "/accounts/mfa",
    tag = "pages",
    operation_id = "pageMfaEnrollSubmit",
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Enrolled: the recovery codes, shown once", content_type = "text/html", body = String),
        (status = 303, description = "Pending sign-in completed: on to the authorization request"),
        (status = 401, description = "Wrong code: the form again", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn enroll(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired_form();
    };
    let jar = cookies(&state);
    let session = cookie_value(&headers, jar.session_name()).unwrap_or_default();
    let expected = form_token(&session, ENROLL_PURPOSE, &form.request);
    if session.is_empty() || cross_site(&headers) || !tokens_match(&expected, &form.csrf) {
        return expired_form();
    }
    match state
        .keyhouse
        .confirm_mfa_enrollment(&session, &form.code, source.0)
        .await
    {
        Ok(Enrolled {
            recovery_codes,
            session: signed_in,
        }) => {
            let next = if signed_in.is_some() {
                resume_location(&form.request)
            } else {
                ENROLL_PATH.to_owned()
            };
            let body = view::render(&view::Recovery {
                codes: &recovery_codes,
                next: &next,
            });
            let mut response = page(StatusCode::OK, body, None);
            if let Some(new) = signed_in {
                if let Some(value) = jar.set(jar.session_name(), &new.cookie, new.max_age_secs) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(CoreError::InvalidToken) => see_other(&resume_location(&form.request)),
        Err(CoreError::Conflict(_)) => see_other(&with_request(ENROLL_PATH, &form.request)),
        Err(err) => match refusal(err) {
            Ok((status, message)) => {
                enroll_view(
                    &state,
                    &headers,
                    &session,
                    &form.request,
                    status,
                    Some(&message),
                )
                .await
            }
            Err(other) => failure_page(other),
        },
    }
}

/// `POST /accounts/mfa/disable`: the signed-in user turns MFA off with a
/// current code (or a recovery code).
#[utoipa::path(
    post,
    path = "/accounts/mfa/disable",
    tag = "pages",
    operation_id = "pageMfaDisable",
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "MFA turned off: back to the MFA page"),
        (status = 401, description = "Wrong code: the page again", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn disable(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired_form();
    };
    let session = cookie_value(&headers, cookies(&state).session_name()).unwrap_or_default();
    let expected = form_token(&session, DISABLE_PURPOSE, "");
    if session.is_empty() || cross_site(&headers) || !tokens_match(&expected, &form.csrf) {
        return expired_form();
    }
    let user = match state.keyhouse.mfa_visitor(&session).await {
        Ok(MfaVisitor::SignedIn(user)) => user,
        Ok(_) => return see_other(ENROLL_PATH),
        Err(err) => return failure_page(err),
    };
    match state
        .keyhouse
        .disable_mfa(&user, &form.code, source.0)
        .await
    {
        Ok(()) | Err(CoreError::NotFound(_)) => see_other(ENROLL_PATH),
        Err(err) => match refusal(err) {
            Ok((status, message)) => {
                enroll_view(&state, &headers, &session, "", status, Some(&message)).await
            }
            Err(other) => failure_page(other),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod resume_tests {
    use super::*;

    #[test]
    fn a_console_sign_in_resumes_on_the_console_only() {
        assert_eq!(resume_location("next=%2Fconsole%2Fapps"), "/console/apps");
        assert_eq!(
            resume_location("next=https%3A%2F%2Fevil.example%2F"),
            "/console"
        );
        assert_eq!(resume_location("next=%2F%2Fevil.example"), "/console");
        assert_eq!(resume_location(""), HOME_PATH);
        assert!(resume_location("client_id=a&response_type=code").starts_with(AUTHORIZE_PATH));
    }
}
