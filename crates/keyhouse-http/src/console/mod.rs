//! `/console`: the web console (issue 7). Server-rendered pages without any
//! JavaScript, signed in through the same browser session as the
//! authorization pages. Every action calls the same `keyhouse-core` service
//! function as the REST API, with the signed-in user's [`Principal`], so the
//! permission checks are the API's own. Every form carries a token bound to
//! the session and to what the form does, and cross-site posts are refused
//! (checklist SE-03, SE-08); pages get the CSP and headers of [`page`].

mod app_edit;
mod apps;
mod audit;
mod chart;
mod copy_script;
mod detail;
mod flash;
mod idps;
mod lifecycle;
pub mod openapi;
mod orgs;
mod picker;
mod scopes;
pub(crate) mod session;
mod settings;
mod templates;
mod users;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keyhouse_core::access::User;
use keyhouse_core::service::Principal;
use keyhouse_core::CoreError;

use crate::pages::authorize::failure_page;
use crate::pages::{cookie_value, cross_site, form_token, page, see_other, tokens_match, Cookies};
use crate::AppState;

/// Where the console starts: the connected-app list.
pub const CONSOLE_PATH: &str = "/console";
/// The console's sign-in page.
pub const SIGN_IN_PATH: &str = "/console/sign-in";

/// The console routes, merged into the application router by [`crate::app`].
pub fn routes() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route(CONSOLE_PATH, get(apps::list))
        .route(copy_script::PATH, get(copy_script::serve))
        .route(SIGN_IN_PATH, get(session::form).post(session::sign_in))
        .route("/console/apps", post(apps::create))
        .route("/console/apps/new", get(apps::new_form))
        .route("/console/apps/{client_id}", get(detail::detail))
        .route(
            "/console/apps/{client_id}/reset-secret",
            post(lifecycle::reset_secret),
        )
        .route(
            "/console/apps/{client_id}/delete",
            get(lifecycle::confirm_delete).post(lifecycle::delete),
        )
        .route("/console/apps/{client_id}/scopes/add", post(scopes::add))
        .route(
            "/console/apps/{client_id}/scopes/remove",
            post(scopes::remove),
        )
        .route("/console/orgs", get(orgs::tree).post(orgs::create_group))
        .route(
            "/console/orgs/{org_id}/environments",
            get(orgs::environments).post(orgs::create_environment),
        )
        .route("/console/audit", get(audit::page))
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/{user_id}/enabled", post(users::set_enabled))
        .route("/console/users/{user_id}/reset-mfa", post(users::reset_mfa))
        .route(
            "/console/users/{user_id}/delete",
            get(users::confirm_delete).post(users::delete),
        )
        .route(
            "/console/apps/{client_id}/edit",
            get(app_edit::form).post(app_edit::save),
        )
        .route("/console/idps", get(idps::list).post(idps::create))
        .route("/console/idps/new", get(idps::new_form))
        .route(
            "/console/idps/{provider_id}",
            get(idps::detail).post(idps::update),
        )
        .route(
            "/console/idps/{provider_id}/delete",
            get(idps::confirm_delete).post(idps::delete),
        )
        .route(
            "/console/settings",
            get(settings::page).post(settings::save),
        )
}

/// The header of a signed-in page.
pub(crate) fn nav(visitor: &Visitor) -> Option<templates::Nav> {
    Some(templates::Nav {
        user_name: visitor.user.username.clone(),
        signout: visitor.token("signout", ""),
    })
}

/// Whether cookies are `Secure` (the issuer is https).
fn secure(state: &AppState) -> bool {
    state.keyhouse.settings().issuer.starts_with("https://")
}

/// The path and query of a request: where to come back to after signing in.
pub(crate) fn here(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| CONSOLE_PATH.to_owned(), |p| p.as_str().to_owned())
}

/// The signed-in person: their session cookie (the key of every form token),
/// the principal the service checks, and the user for the page header.
pub(crate) struct Visitor {
    pub session: String,
    pub principal: Principal,
    pub user: User,
}

impl Visitor {
    /// The form token for `purpose` on `data` (an app's client id, or "").
    pub fn token(&self, purpose: &str, data: &str) -> String {
        form_token(&self.session, purpose, data)
    }
}

fn cookies(state: &AppState) -> Cookies {
    Cookies::for_issuer(&state.keyhouse.settings().issuer)
}

/// The session cookie's value ("" without one).
fn session_cookie(state: &AppState, headers: &HeaderMap) -> String {
    cookie_value(headers, cookies(state).session_name()).unwrap_or_default()
}

/// The visitor of a page (GET): without a live session, the answer is a
/// redirect to the sign-in page that comes back to `here` afterwards.
pub(crate) async fn visitor(
    state: &AppState,
    headers: &HeaderMap,
    source: Option<std::net::IpAddr>,
    here: &str,
) -> Result<Visitor, Response> {
    let session = session_cookie(state, headers);
    match state.keyhouse.browser_principal(&session, source).await {
        Ok(Some((principal, user))) => Ok(Visitor {
            session,
            principal,
            user,
        }),
        Ok(None) => Err(to_sign_in(here)),
        Err(err) => Err(failure_page(err)),
    }
}

/// The visitor of a form post: the post must come from this site and carry
/// the token for `purpose` and `data` made for this session.
pub(crate) async fn poster(
    state: &AppState,
    headers: &HeaderMap,
    source: Option<std::net::IpAddr>,
    (purpose, data): (&str, &str),
    presented: &str,
) -> Result<Visitor, Response> {
    let session = session_cookie(state, headers);
    if session.is_empty()
        || cross_site(headers)
        || !tokens_match(&form_token(&session, purpose, data), presented)
    {
        return Err(expired_form());
    }
    visitor(state, headers, source, CONSOLE_PATH).await
}

/// `303` to the sign-in page, remembering where to come back to.
fn to_sign_in(here: &str) -> Response {
    let next = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
    see_other(&format!("{SIGN_IN_PATH}?{next}"))
}

/// A form that was not made for this session, or that came from another site.
pub(crate) fn expired_form() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this browser session. Reload the page and try again.",
    )
}

/// An error page in the console's layout (with the navigation, so that a
/// refused user can still reach their own pages).
pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, templates::message(title, message), None)
}

/// The page for a refusal or failure of the core, in the API's terms: 403
/// for a missing permission, 404 for what is not there (or not visible), 400
/// for a rule the input broke; the sign-in page when the session's user can
/// no longer act.
pub(crate) fn refusal(err: CoreError) -> Response {
    match err {
        CoreError::Forbidden(msg) | CoreError::InsufficientScope(msg) => message_page(
            StatusCode::FORBIDDEN,
            "You do not have permission to do this",
            &format!(
                "{msg}. Only administrators of an organization manage its connected apps, \
                 environments and audit log. Ask one of them, or see your own authorized apps."
            ),
        ),
        CoreError::NotFound(msg) => message_page(StatusCode::NOT_FOUND, "Not found", &msg),
        CoreError::Validation(msg) | CoreError::Conflict(msg) => {
            message_page(StatusCode::BAD_REQUEST, "This was not accepted", &msg)
        }
        CoreError::InvalidToken => to_sign_in(CONSOLE_PATH),
        other => failure_page(other),
    }
}

/// A rule the input broke, as a line to show next to the form; any other
/// failure comes back for [`refusal`].
pub(crate) fn input_problem(err: CoreError) -> Result<String, CoreError> {
    match err {
        CoreError::Validation(msg) | CoreError::Conflict(msg) => Ok(msg),
        other => Err(other),
    }
}

/// An HTML page of the console (status 200 unless an error line is shown).
pub(crate) fn console_page(error: Option<&str>, body: String) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(status, body, None)
}
