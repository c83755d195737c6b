//! `GET|POST /console/sign-in`: the console's sign-in form. It opens the same
//! browser session as `/accounts/authorize/login` (the same core call, the
//! same cookie and pre-login CSRF cookie), and then goes back to the console
//! page that asked for it. A second factor continues on the MFA pages.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keyhouse_core::service::BrowserSignIn;
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::templates::{render, SignInPage};
use super::{cookies, expired_form, CONSOLE_PATH};
use crate::extract::ClientIp;
use crate::pages::authorize::failure_page;
use crate::pages::{cookie_value, cross_site, page, random_value, see_other, tokens_match};
use crate::AppState;

/// `next`: the console page to go back to.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Only a console path may be the target after signing in (no open redirect).
pub(crate) fn safe_next(next: &str) -> &str {
    let inside =
        next == CONSOLE_PATH || next.starts_with("/console/") || next.starts_with("/console?");
    if inside && !next.contains("//") && !next.contains('\\') {
        next
    } else {
        CONSOLE_PATH
    }
}

fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
) -> Response {
    let jar = cookies(state);
    let existing = cookie_value(headers, jar.csrf_name());
    let csrf = existing.clone().unwrap_or_else(random_value);
    let body = render(&SignInPage {
        nav: None,
        active: "",
        csrf: &csrf,
        next: safe_next(next),
        error,
    });
    let mut response = page(status, body, None);
    if existing.is_none() {
        if let Some(value) = jar.set(jar.csrf_name(), &csrf, 3600) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The sign-in form; a visitor already signed in goes straight on.
#[utoipa::path(
    get,
    path = "/console/sign-in",
    tag = "console",
    operation_id = "consoleSignInPage",
    params(("next" = Option<String>, Query, description = "The console page to go back to")),
    responses(
        (status = 200, description = "The sign-in form", content_type = "text/html", body = String),
        (status = 303, description = "Already signed in: on to `next`"),
    ),
)]
pub async fn form(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    let session = super::session_cookie(&state, &headers);
    match state.keyhouse.browser_principal(&session, source).await {
        Ok(Some(_)) => see_other(safe_next(&next)),
        Ok(None) => form_page(&state, &headers, StatusCode::OK, &next, None),
        Err(err) => failure_page(err),
    }
}

/// Checks the password (same throttle and audit as every sign-in), opens
/// the session and goes back to `next`.
#[utoipa::path(
    post,
    path = "/console/sign-in",
    tag = "console",
    operation_id = "consoleSignIn",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`username`, `password`, `csrf` (the pre-login cookie's value) and `next`"),
    responses(
        (status = 303, description = "Signed in (the session cookie is set): on to `next`, or to the MFA step"),
        (status = 400, description = "Invalid input: the form again", content_type = "text/html", body = String),
        (status = 401, description = "Wrong credentials: the form again", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form (HTML page)", content_type = "text/html"),
        (status = 429, description = "Too many failed attempts: the form again", content_type = "text/html", body = String),
    ),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired_form();
    };
    let jar = cookies(&state);
    let csrf_cookie = cookie_value(&headers, jar.csrf_name()).unwrap_or_default();
    if cross_site(&headers) || !tokens_match(&csrf_cookie, &form.csrf) {
        return expired_form();
    }
    match state
        .keyhouse
        .browser_sign_in(&form.username, &form.password, source)
        .await
    {
        Ok(BrowserSignIn::Session(session)) => {
            let mut response = see_other(safe_next(&form.next));
            if let Some(value) = jar.set(jar.session_name(), &session.cookie, session.max_age_secs)
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        // A second factor is next: the MFA pages finish the sign-in and
        // then come back to `next` (carried as `next=…` in their request).
        Ok(pending) => {
            let resume =
                serde_urlencoded::to_string([("next", safe_next(&form.next))]).unwrap_or_default();
            crate::pages::mfa::pending_sign_in(jar, pending, &resume)
        }
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
            form_page(&state, &headers, status, &form.next, Some(&message))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/console/apps/abc"), "/console/apps/abc");
        assert_eq!(safe_next("/console?q=x"), "/console?q=x");
        for bad in [
            "",
            "https://evil.example/console",
            "//evil.example/console",
            "/console//evil.example",
            "/consolex",
            "/accounts/authorizations",
            "/console/\\evil",
        ] {
            assert_eq!(safe_next(bad), "/console", "{bad}");
        }
    }
}
