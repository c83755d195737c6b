//! Users in the console: the list with search, the create form, enabling and
//! disabling, MFA reset and deletion (after a confirmation page), through the
//! same service calls as `…/users` and `…/users/{id}/mfa` (`users`,
//! `create_org_user`, `update_org_user`, `reset_user_mfa`, `delete_org_user`)
//! with the visitor's principal. Every form's token is bound to the business
//! group and, for actions on one user, to that user.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::service::{NewOrgUser, UserChange};
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::picker::{chosen, org_options, OrgOption};
use super::templates::{render, Nav};
use super::{console_page, here, input_problem, nav, poster, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// Users per page of the list.
const PAGE: u64 = 50;
/// Form purposes.
const CREATE: &str = "console-user-create";
const ENABLE: &str = "console-user-enabled";
const RESET_MFA: &str = "console-user-mfa";
const DELETE: &str = "console-user-delete";

/// One user in the list, with the tokens of the forms on its row.
pub(crate) struct UserRow {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub enabled: bool,
    pub federated: bool,
    pub enable_csrf: String,
    pub mfa_csrf: String,
}

/// What the create form showed, to fill it again after a refusal (never the password).
#[derive(Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    username: String,
    #[serde(default, rename = "firstName")]
    first_name: String,
    #[serde(default, rename = "lastName")]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default, rename = "phoneNumber")]
    phone_number: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
pub(crate) struct UsersPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub org_id: String,
    pub q: String,
    pub users: Vec<UserRow>,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    pub create_csrf: String,
    pub form: CreateForm,
}

#[derive(Template)]
#[template(path = "console/users_delete.html")]
pub(crate) struct DeleteUserPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub org_id: String,
    pub id: String,
    pub username: String,
    pub csrf: String,
}

/// The list's query: business group, search text, offset, and what was just done.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    done: String,
}

/// A one-button form on a user: its token, the business group, and for
/// enable/disable the state wanted.
#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    enabled: String,
}

/// `?org=` of the confirmation page.
#[derive(Deserialize, Default)]
pub struct OrgQuery {
    #[serde(default)]
    org: String,
}

fn list_href(org: &str, q: &str, offset: u64, done: &str) -> String {
    let offset = offset.to_string();
    let mut pairs = vec![("org", org), ("q", q), ("offset", offset.as_str())];
    if !done.is_empty() {
        pairs.push(("done", done));
    }
    format!(
        "/console/users?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// The token data of a form on one user in one business group.
fn bound(org: &str, user: &str) -> String {
    format!("{org}/{user}")
}

/// The sentence shown after an action (`?done=`).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "The user was created. They can sign in with the password you chose.",
        "disabled" => "The user was disabled. Their tokens and sessions no longer work.",
        "enabled" => "The user was enabled. They can sign in again.",
        "mfa" => "The user's two-step verification was reset.",
        "deleted" => "The user was deleted, with their tokens, sessions and authorizations.",
        _ => return None,
    })
}

async fn list_page(
    state: &AppState,
    visitor: &Visitor,
    q: ListQuery,
    form: CreateForm,
    error: Option<String>,
) -> Response {
    let orgs = match org_options(state, visitor, &q.org).await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let org_id = chosen(&orgs).map(|o| o.id.clone()).unwrap_or_default();
    let found = match OrgId::parse(&org_id) {
        Ok(org) => {
            state
                .keyhouse
                .users(&visitor.principal, org, Some(&q.q), q.offset, Some(PAGE))
                .await
        }
        Err(err) => Err(err),
    };
    let found = match found {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let users = found
        .data
        .iter()
        .map(|u| {
            let id = u.id.to_string();
            UserRow {
                enable_csrf: visitor.token(ENABLE, &bound(&org_id, &id)),
                mfa_csrf: visitor.token(RESET_MFA, &bound(&org_id, &id)),
                username: u.username.clone(),
                name: format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_owned(),
                email: u.email.clone(),
                enabled: u.enabled,
                federated: u.password_hash.is_none(),
                id,
            }
        })
        .collect();
    let next =
        (q.offset + PAGE < found.total).then(|| list_href(&org_id, &q.q, q.offset + PAGE, ""));
    let prev = (q.offset > 0).then(|| list_href(&org_id, &q.q, q.offset.saturating_sub(PAGE), ""));
    let body = render(&UsersPage {
        nav: nav(visitor),
        active: "users",
        create_csrf: visitor.token(CREATE, &org_id),
        notice: notice(&q.done),
        orgs,
        org_id,
        q: q.q,
        users,
        total: found.total,
        prev,
        next,
        error: error.clone(),
        form,
    });
    console_page(error.as_deref(), body)
}

/// `GET /console/users`: the tenant's users, searchable, with the create form.
#[utoipa::path(
    get,
    path = "/console/users",
    tag = "console",
    operation_id = "consoleUsers",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("q" = Option<String>, Query, description = "Search: part of a username, name or email"), ("offset" = Option<u64>, Query), ("done" = Option<String>, Query, description = "The action just done, for its notice")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(visitor) => list_page(&state, &visitor, q, CreateForm::default(), None).await,
        Err(response) => response,
    }
}

/// `POST /console/users`: a new user, a member of the picked business group.
#[utoipa::path(
    post,
    path = "/console/users",
    tag = "console",
    operation_id = "consoleCreateUser",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org`, `username`, `firstName`, `lastName`, `email`, `phoneNumber`, `password` and the `csrf` token (bound to the session, the form and the business group)"),
    responses(
        (status = 303, description = "Done: on to the list with a notice"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let Ok(Form(mut form)) = form else {
        return super::expired_form();
    };
    let visitor = match poster(&state, &headers, source, (CREATE, &form.org), &form.csrf).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let new = NewOrgUser {
        username: form.username.clone(),
        password: std::mem::take(&mut form.password),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        email: form.email.clone(),
        phone_number: Some(form.phone_number.clone()),
    };
    let created = match OrgId::parse(&form.org) {
        Ok(org) => {
            state
                .keyhouse
                .create_org_user(&visitor.principal, org, new)
                .await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(user) => see_other(&list_href(&form.org, &user.username, 0, "created")),
        Err(err) => match input_problem(err) {
            Ok(problem) => {
                let q = ListQuery {
                    org: form.org.clone(),
                    ..ListQuery::default()
                };
                list_page(&state, &visitor, q, form, Some(problem)).await
            }
            Err(other) => refusal(other),
        },
    }
}

/// The visitor of a post on one user, with the business group and user ids.
async fn user_poster(
    state: &AppState,
    headers: &HeaderMap,
    source: Option<std::net::IpAddr>,
    purpose: &str,
    user_id: &str,
    form: &UserForm,
) -> Result<(Visitor, OrgId, UserId), Response> {
    let data = bound(&form.org, user_id);
    let visitor = poster(state, headers, source, (purpose, &data), &form.csrf).await?;
    let ids = OrgId::parse(&form.org).and_then(|org| Ok((org, UserId::parse(user_id)?)));
    match ids {
        Ok((org, user)) => Ok((visitor, org, user)),
        Err(err) => Err(refusal(err)),
    }
}

/// A refusal of an action on a user: rules the input broke (yourself, the
/// owner) come back as the list with the reason; the rest as error pages.
async fn action_refused(
    state: &AppState,
    visitor: &Visitor,
    org: &str,
    err: CoreError,
) -> Response {
    match input_problem(err) {
        Ok(problem) => {
            let q = ListQuery {
                org: org.to_owned(),
                ..ListQuery::default()
            };
            list_page(state, visitor, q, CreateForm::default(), Some(problem)).await
        }
        Err(other) => refusal(other),
    }
}

/// `POST /console/users/{user_id}/enabled`: enables or disables (`enabled=true|false`).
#[utoipa::path(
    post,
    path = "/console/users/{user_id}/enabled",
    tag = "console",
    operation_id = "consoleSetUserEnabled",
    params(("user_id" = String, Path, format = Uuid, description = "User id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org`, `enabled` (`true` or `false`) and the `csrf` token (bound to the session, the form, the business group and the user)"),
    responses(
        (status = 303, description = "Done: on to the list with a notice"),
        (status = 400, description = "Refused (yourself, an owner): the list with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such user (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn set_enabled(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let (visitor, org, user) =
        match user_poster(&state, &headers, source, ENABLE, &user_id, &form).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let enabled = form.enabled == "true";
    let change = UserChange {
        enabled: Some(enabled),
        ..UserChange::default()
    };
    match state
        .keyhouse
        .update_org_user(&visitor.principal, org, user, change)
        .await
    {
        Ok(user) => {
            let done = if enabled { "enabled" } else { "disabled" };
            see_other(&list_href(&form.org, &user.username, 0, done))
        }
        Err(err) => action_refused(&state, &visitor, &form.org, err).await,
    }
}

/// `POST /console/users/{user_id}/reset-mfa`: removes the user's second factor.
#[utoipa::path(
    post,
    path = "/console/users/{user_id}/reset-mfa",
    tag = "console",
    operation_id = "consoleResetUserMfa",
    params(("user_id" = String, Path, format = Uuid, description = "User id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org` and the `csrf` token (bound to the session, the form, the business group and the user)"),
    responses(
        (status = 303, description = "Done: on to the list with a notice"),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such user (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn reset_mfa(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let (visitor, org, user) =
        match user_poster(&state, &headers, source, RESET_MFA, &user_id, &form).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state
        .keyhouse
        .reset_user_mfa(&visitor.principal, org, user, source)
        .await
    {
        Ok(()) => see_other(&list_href(&form.org, "", 0, "mfa")),
        Err(err) => action_refused(&state, &visitor, &form.org, err).await,
    }
}

/// `GET /console/users/{user_id}/delete?org=`: the confirmation step.
#[utoipa::path(
    get,
    path = "/console/users/{user_id}/delete",
    tag = "console",
    operation_id = "consoleConfirmDeleteUser",
    params(("user_id" = String, Path, format = Uuid, description = "User id"), ("org" = Option<String>, Query, description = "Business group the visitor acts in")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such user (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn confirm_delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
    query: Result<Query<OrgQuery>, QueryRejection>,
) -> Response {
    let org_id = query.map(|Query(q)| q.org).unwrap_or_default();
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let ids = OrgId::parse(&org_id).and_then(|org| Ok((org, UserId::parse(&user_id)?)));
    let found = match ids {
        Ok((org, user)) => state.keyhouse.org_user(&visitor.principal, org, user).await,
        Err(err) => Err(err),
    };
    match found {
        Ok(user) => {
            let id = user.id.to_string();
            console_page(
                None,
                render(&DeleteUserPage {
                    nav: nav(&visitor),
                    active: "users",
                    csrf: visitor.token(DELETE, &bound(&org_id, &id)),
                    org_id,
                    id,
                    username: user.username,
                }),
            )
        }
        Err(err) => refusal(err),
    }
}

/// `POST /console/users/{user_id}/delete`: deletes the user and goes back to the list.
#[utoipa::path(
    post,
    path = "/console/users/{user_id}/delete",
    tag = "console",
    operation_id = "consoleDeleteUser",
    params(("user_id" = String, Path, format = Uuid, description = "User id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org` and the `csrf` token (bound to the session, the form, the business group and the user)"),
    responses(
        (status = 303, description = "Done: on to the list with a notice"),
        (status = 400, description = "Refused (yourself, an owner): the list with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such user (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let (visitor, org, user) =
        match user_poster(&state, &headers, source, DELETE, &user_id, &form).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    match state
        .keyhouse
        .delete_org_user(&visitor.principal, org, user)
        .await
    {
        Ok(()) => see_other(&list_href(&form.org, "", 0, "deleted")),
        Err(err) => action_refused(&state, &visitor, &form.org, err).await,
    }
}
