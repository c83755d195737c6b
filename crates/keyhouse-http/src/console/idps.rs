//! `/console/idps`: an organization's identity providers (OpenID Connect and
//! SAML 2.0) — list, add, edit (with what to give the identity provider) and
//! delete after a confirmation step — through the service calls behind
//! `…/organizations/{orgId}/identityProviders` (docs/federation.md). The
//! OpenID Connect client secret is write-only, as in the API.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::federation::{start_path, IdentityProvider, ProviderId};
use keyhouse_core::ids::OrgId;
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::app_edit::field;
use super::picker::{chosen, org_options};
use super::templates::render;
use super::{console_page, here, input_problem, nav, poster, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

mod values;

use values::{setup, IdpDeletePage, IdpFormPage, IdpRow, IdpValues, IdpsPage, SetupRow};

/// Form purposes: creating is bound to the organization, editing and
/// deleting to the provider.
const CREATE: &str = "console-idp-create";
const UPDATE: &str = "console-idp-update";
const DELETE: &str = "console-idp-delete";

/// The pages' query: business group, protocol of a new provider, notices.
#[derive(Deserialize, Default)]
pub struct IdpQuery {
    #[serde(default)]
    org: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    done: String,
}

/// The business group of a page: the one asked for, or the visitor's root.
fn org_of(visitor: &Visitor, raw: &str) -> Result<OrgId, CoreError> {
    if raw.is_empty() {
        Ok(visitor.user.org_id)
    } else {
        OrgId::parse(raw)
    }
}

/// A provider's page (`/console/idps/{id}?org=`), with `extra` query pairs.
fn provider_href(org: &str, id: &str, extra: &str) -> String {
    let query = serde_urlencoded::to_string([("org", org)]).unwrap_or_default();
    format!("/console/idps/{id}?{query}{extra}")
}

/// Shows the add or edit form (with the setup rows when editing).
fn form_page(
    visitor: &Visitor,
    org: OrgId,
    provider: Option<(&str, Vec<SetupRow>)>,
    form: IdpValues,
    (error, saved): (Option<String>, bool),
) -> Response {
    let (provider_id, setup) = match provider {
        Some((id, rows)) => (Some(id.to_owned()), rows),
        None => (None, Vec::new()),
    };
    let csrf = match &provider_id {
        Some(id) => visitor.token(UPDATE, id),
        None => visitor.token(CREATE, &org.to_string()),
    };
    let body = render(&IdpFormPage {
        nav: nav(visitor),
        active: "idps",
        org_id: org.to_string(),
        provider_id,
        csrf,
        error: error.clone(),
        saved,
        form,
        setup,
    });
    console_page(error.as_deref(), body)
}

macro_rules! get_or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

/// `GET /console/idps`: the providers of one business group (the root by default).
#[utoipa::path(get, path = "/console/idps", tag = "console", operation_id = "consoleIdps",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("done" = Option<String>, Query, description = "`deleted` after a deletion: shows a notice")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), (status = 303, description = "Not signed in: to the console's sign-in page"), (status = 403, description = "Not an administrator (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<IdpQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = get_or_return!(visitor(&state, &headers, source, &here(&uri)).await);
    let orgs = get_or_return!(org_options(&state, &visitor, &q.org).await.map_err(refusal));
    let org_id = chosen(&orgs).map(|o| o.id.clone()).unwrap_or_default();
    let org = get_or_return!(OrgId::parse(&org_id).map_err(refusal));
    let providers = get_or_return!(state
        .keyhouse
        .identity_providers(&visitor.principal, org)
        .await
        .map_err(refusal));
    let issuer = &state.keyhouse.settings().issuer;
    let rows = providers
        .iter()
        .map(|p| IdpRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            kind: p.protocol.description(),
            issuer: p.oidc().map_or_else(
                || p.saml().map(|s| s.issuer.clone()).unwrap_or_default(),
                |o| o.issuer.clone(),
            ),
            sign_on: match p.saml() {
                Some(s) if s.sso_url.is_none() => String::new(),
                _ => format!("{issuer}{}", start_path(p)),
            },
        })
        .collect();
    let body = render(&IdpsPage {
        nav: nav(&visitor),
        active: "idps",
        orgs,
        org_id,
        rows,
        deleted: q.done == "deleted",
    });
    console_page(None, body)
}

/// `GET /console/idps/new?type=openid|saml`: the add form.
#[utoipa::path(get, path = "/console/idps/new", tag = "console", operation_id = "consoleNewIdp",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("type" = Option<String>, Query, description = "`openid` (default) or `saml`")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), (status = 303, description = "Not signed in: to the console's sign-in page")),
    security(("browser_session" = [])))]
pub async fn new_form(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<IdpQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = get_or_return!(visitor(&state, &headers, source, &here(&uri)).await);
    let org = get_or_return!(org_of(&visitor, &q.org).map_err(refusal));
    let form = IdpValues {
        saml: q.kind == "saml",
        ..IdpValues::default()
    };
    form_page(&visitor, org, None, form, (None, false))
}

/// `POST /console/idps`: adds the provider, then shows its page (with what
/// to give the identity provider).
#[utoipa::path(post, path = "/console/idps", tag = "console", operation_id = "consoleCreateIdp",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org`, `type`, the provider's fields and the `csrf` token"),
    responses((status = 303, description = "Added: on to its page"), (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String), (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    let org_raw = field(&pairs, "org");
    let token = (CREATE, org_raw);
    let visitor =
        get_or_return!(poster(&state, &headers, source, token, field(&pairs, "csrf")).await);
    let org = get_or_return!(OrgId::parse(org_raw).map_err(refusal));
    let values = IdpValues::from_pairs(&pairs);
    let created = match values.input(field(&pairs, "client_secret")) {
        Ok(input) => {
            let principal = &visitor.principal;
            state
                .keyhouse
                .create_identity_provider(principal, org, input)
                .await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(p) => see_other(&provider_href(org_raw, &p.id.to_string(), "&done=saved")),
        Err(err) => match input_problem(err) {
            Ok(problem) => form_page(&visitor, org, None, values, (Some(problem), false)),
            Err(other) => refusal(other),
        },
    }
}

/// `GET /console/idps/{provider_id}`: the provider's settings to edit, and
/// what to give the identity provider.
#[utoipa::path(get, path = "/console/idps/{provider_id}", tag = "console", operation_id = "consoleIdp",
    params(("provider_id" = String, Path, description = "Identity provider id"), ("org" = Option<String>, Query, description = "Its business group (default: the root)"), ("done" = Option<String>, Query, description = "`saved` after a change: shows a notice")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), (status = 303, description = "Not signed in: to the console's sign-in page"), (status = 403, description = "Not an administrator (HTML page)", content_type = "text/html"), (status = 404, description = "No such provider (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(provider_id): Path<String>,
    query: Result<Query<IdpQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = get_or_return!(visitor(&state, &headers, source, &here(&uri)).await);
    let (org, provider) = get_or_return!(load(&state, &visitor, &q.org, &provider_id).await);
    let rows = setup(&state, &provider);
    let shown = Some((provider_id.as_str(), rows));
    form_page(
        &visitor,
        org,
        shown,
        IdpValues::of(&provider),
        (None, q.done == "saved"),
    )
}

/// The provider of the path in the business group of the query (a malformed
/// id names nothing: 404, as in the API).
async fn load(
    state: &AppState,
    visitor: &Visitor,
    org: &str,
    id: &str,
) -> Result<(OrgId, IdentityProvider), Response> {
    let org = org_of(visitor, org).map_err(refusal)?;
    let not_found = |_| refusal(CoreError::NotFound("No such identity provider".to_owned()));
    let id = ProviderId::parse(id).map_err(not_found)?;
    let found = state
        .keyhouse
        .identity_provider(&visitor.principal, org, id)
        .await;
    found.map(|p| (org, p)).map_err(refusal)
}

/// `POST /console/idps/{provider_id}`: saves the changes (an empty secret
/// keeps the stored one).
#[utoipa::path(post, path = "/console/idps/{provider_id}", tag = "console", operation_id = "consoleUpdateIdp",
    params(("provider_id" = String, Path, description = "Identity provider id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org`, `type`, the provider's fields and the `csrf` token"),
    responses((status = 303, description = "Saved: back to its page"), (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String), (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"), (status = 404, description = "No such provider (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(provider_id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    let token = (UPDATE, provider_id.as_str());
    let visitor =
        get_or_return!(poster(&state, &headers, source, token, field(&pairs, "csrf")).await);
    let org_raw = field(&pairs, "org");
    let (org, existing) = get_or_return!(load(&state, &visitor, org_raw, &provider_id).await);
    let mut values = IdpValues::from_pairs(&pairs);
    values.saml = existing.saml().is_some();
    let updated = match values.input(field(&pairs, "client_secret")) {
        Ok(input) => {
            let principal = &visitor.principal;
            let keyhouse = &state.keyhouse;
            keyhouse
                .update_identity_provider(principal, org, existing.id, input)
                .await
        }
        Err(err) => Err(err),
    };
    match updated {
        Ok(_) => see_other(&provider_href(
            &org.to_string(),
            &provider_id,
            "&done=saved",
        )),
        Err(err) => match input_problem(err) {
            Ok(problem) => {
                let shown = Some((provider_id.as_str(), setup(&state, &existing)));
                form_page(&visitor, org, shown, values, (Some(problem), false))
            }
            Err(other) => refusal(other),
        },
    }
}

/// `GET /console/idps/{provider_id}/delete`: the confirmation step.
#[utoipa::path(get, path = "/console/idps/{provider_id}/delete", tag = "console", operation_id = "consoleConfirmDeleteIdp",
    params(("provider_id" = String, Path, description = "Identity provider id"), ("org" = Option<String>, Query, description = "Its business group (default: the root)")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), (status = 303, description = "Not signed in: to the console's sign-in page"), (status = 403, description = "Not an administrator (HTML page)", content_type = "text/html"), (status = 404, description = "No such provider (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn confirm_delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(provider_id): Path<String>,
    query: Result<Query<IdpQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = get_or_return!(visitor(&state, &headers, source, &here(&uri)).await);
    let (org, provider) = get_or_return!(load(&state, &visitor, &q.org, &provider_id).await);
    let body = render(&IdpDeletePage {
        nav: nav(&visitor),
        active: "idps",
        org_id: org.to_string(),
        csrf: visitor.token(DELETE, &provider_id),
        provider_id,
        name: provider.name,
    });
    console_page(None, body)
}

/// `POST /console/idps/{provider_id}/delete`: deletes the provider (the
/// users it provisioned stay) and goes back to the list.
#[utoipa::path(post, path = "/console/idps/{provider_id}/delete", tag = "console", operation_id = "consoleDeleteIdp",
    params(("provider_id" = String, Path, description = "Identity provider id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org` and the `csrf` token"),
    responses((status = 303, description = "Deleted: back to the list"), (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"), (status = 404, description = "No such provider (HTML page)", content_type = "text/html")),
    security(("browser_session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(provider_id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    let token = (DELETE, provider_id.as_str());
    let visitor =
        get_or_return!(poster(&state, &headers, source, token, field(&pairs, "csrf")).await);
    let (org, existing) =
        get_or_return!(load(&state, &visitor, field(&pairs, "org"), &provider_id).await);
    let principal = &visitor.principal;
    match state
        .keyhouse
        .delete_identity_provider(principal, org, existing.id)
        .await
    {
        Ok(()) => {
            let query = serde_urlencoded::to_string([("org", org.to_string())]).unwrap_or_default();
            see_other(&format!("/console/idps?{query}&done=deleted"))
        }
        Err(err) => refusal(err),
    }
}
