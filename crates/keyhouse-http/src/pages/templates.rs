//! The page templates (askama, compiled in; HTML-escaped by default, AZ-17).

use askama::Template;
use keyhouse_core::oauth::authorize::ConsentPage;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    app_name: Option<&'a str>,
    org_name: Option<&'a str>,
    error: Option<&'a str>,
    csrf: &'a str,
    request: &'a str,
    login_hint: &'a str,
    providers: &'a [IdpLink],
}

/// One "sign in with" button of the sign-in page: an identity provider and
/// the start of a federated sign-in through it (a plain link: following it
/// is a navigation, which the pages' CSP `form-action` does not restrict).
pub(crate) struct IdpLink {
    /// The provider id (`data-provider-id`).
    pub id: String,
    /// The provider's name, on the button.
    pub name: String,
    /// The start of the federated sign-in.
    pub href: String,
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

/// What the sign-in page shows around its form.
pub(crate) struct SignInContent<'a> {
    /// The app asking for access, when there is an authorization request.
    pub app_name: Option<&'a str>,
    /// The organization of a login-domain page (`/accounts/login/{domain}`).
    pub org_name: Option<&'a str>,
    /// The error line after a failed attempt.
    pub error: Option<&'a str>,
    /// Pre-filled username (`login_hint`).
    pub login_hint: Option<&'a str>,
    /// The "sign in with" buttons.
    pub providers: &'a [IdpLink],
}

/// The sign-in page.
pub(crate) fn sign_in(content: &SignInContent<'_>, csrf: &str, request: &str) -> String {
    render(&SignIn {
        app_name: content.app_name,
        org_name: content.org_name,
        error: content.error,
        csrf,
        request,
        login_hint: content.login_hint.unwrap_or_default(),
        providers: content.providers,
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
