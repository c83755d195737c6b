//! The page templates (askama, compiled in; HTML-escaped by default, AZ-17).

use askama::Template;
use keyhouse_core::oauth::authorize::ConsentPage;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    app_name: Option<&'a str>,
    error: Option<&'a str>,
    csrf: &'a str,
    request: &'a str,
    login_hint: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct Consent<'a> {
    page: &'a ConsentPage,
    csrf: &'a str,
    request: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// One row of the authorized-apps page.
pub(crate) struct AppRow {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub last_used: String,
    /// The row's revoke-form token.
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "authorizations.html")]
struct Authorizations<'a> {
    user_name: &'a str,
    apps: &'a [AppRow],
    signout_csrf: &'a str,
}

/// Renders, or falls back to a bare sentence if a template fails (it cannot,
/// short of a bug; the page must still not leak anything).
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|err| {
        tracing::error!(error = %err, "template rendering failed");
        "<!doctype html><title>Keyhouse</title><p>Something went wrong.</p>".to_owned()
    })
}

/// The sign-in page.
pub(crate) fn sign_in(
    app_name: Option<&str>,
    error: Option<&str>,
    csrf: &str,
    request: &str,
    login_hint: Option<&str>,
) -> String {
    render(&SignIn {
        app_name,
        error,
        csrf,
        request,
        login_hint: login_hint.unwrap_or_default(),
    })
}

/// The consent page.
pub(crate) fn consent(page: &ConsentPage, csrf: &str, request: &str) -> String {
    render(&Consent {
        page,
        csrf,
        request,
    })
}

/// The error page.
pub(crate) fn error(title: &str, message: &str) -> String {
    render(&ErrorPage { title, message })
}

/// The authorized-apps page.
pub(crate) fn authorizations(user_name: &str, apps: &[AppRow], signout_csrf: &str) -> String {
    render(&Authorizations {
        user_name,
        apps,
        signout_csrf,
    })
}
