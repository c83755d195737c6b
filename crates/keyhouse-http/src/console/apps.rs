//! Connected apps in the console: the list with search, the create form,
//! secret reset and deletion (with a confirmation step). The same service
//! calls as `…/connectedApplications` (`apps`, `create_app`, `update_app`,
//! `delete_app`), with the visitor's principal.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::AppInput;
use serde::Deserialize;

use super::picker::{chosen, org_options};
use super::templates::{render, AppForm, AppRow, AppsPage, NewAppPage};
use super::{console_page, flash, here, input_problem, nav, poster, refusal, secure, visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// Apps per page of the list.
const PAGE: u64 = 50;
const CREATE: &str = "console-app-create";

/// The list's query: business group, search text, offset.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    deleted: String,
}

pub(crate) fn list_href(org: &str, q: &str, offset: u64) -> String {
    let query =
        serde_urlencoded::to_string([("org", org), ("q", q), ("offset", &offset.to_string())])
            .unwrap_or_default();
    format!("/console?{query}")
}

/// `GET /console`: the apps of one business group, searchable by name or
/// client id (`GET …/connectedApplications?search=`).
#[utoipa::path(
    get,
    path = "/console",
    tag = "console",
    operation_id = "consoleApps",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("q" = Option<String>, Query, description = "Search: part of a name, or a whole client id"), ("offset" = Option<u64>, Query)),
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
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let orgs = match org_options(&state, &visitor, &q.org).await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let org_id = chosen(&orgs).map(|o| o.id.clone()).unwrap_or_default();
    let org = match OrgId::parse(&org_id) {
        Ok(org) => org,
        Err(err) => return refusal(err),
    };
    let mut found = match state
        .keyhouse
        .apps(
            &visitor.principal,
            Some(org),
            Some(&q.q),
            q.offset,
            Some(PAGE),
        )
        .await
    {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    // The list API searches names; a whole client id finds its app too.
    let wanted = q.q.trim();
    if !wanted.is_empty() && q.offset == 0 && !found.data.iter().any(|a| a.client_id == wanted) {
        match state
            .keyhouse
            .app(&visitor.principal, Some(org), wanted)
            .await
        {
            Ok(app) => {
                found.data.insert(0, app);
                found.total += 1;
            }
            Err(keyhouse_core::CoreError::NotFound(_)) => {}
            Err(err) => return refusal(err),
        }
    }
    let apps = found
        .data
        .iter()
        .map(|a| AppRow {
            client_id: a.client_id.clone(),
            name: a.name.clone(),
            grants: a
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            enabled: a.enabled,
            created: a.created_at.to_iso(),
        })
        .collect();
    let next = (q.offset + PAGE < found.total).then(|| list_href(&org_id, &q.q, q.offset + PAGE));
    let prev = (q.offset > 0).then(|| list_href(&org_id, &q.q, q.offset.saturating_sub(PAGE)));
    console_page(
        None,
        render(&AppsPage {
            nav: nav(&visitor),
            active: "apps",
            orgs,
            org_id,
            q: q.q,
            apps,
            total: found.total,
            prev,
            next,
            deleted: !q.deleted.is_empty(),
        }),
    )
}

/// `GET /console/apps/new`: the create form.
#[utoipa::path(
    get,
    path = "/console/apps/new",
    tag = "console",
    operation_id = "consoleNewApp",
    params(("org" = Option<String>, Query, description = "Business group preselected")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn new_form(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let orgs = match org_options(&state, &visitor, &q.org).await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let form = AppForm {
        behalf: "own".to_owned(),
        audience: "internal".to_owned(),
        ..AppForm::default()
    };
    console_page(
        None,
        render(&NewAppPage {
            nav: nav(&visitor),
            active: "apps",
            orgs,
            csrf: visitor.token(CREATE, ""),
            error: None,
            form,
        }),
    )
}

/// The value of a field (the first, when repeated).
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The non-empty lines of a textarea.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// PEM blocks pasted one after another into the public-keys textarea.
fn pem_blocks(text: &str) -> Vec<String> {
    text.split("-----BEGIN ")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| format!("-----BEGIN {b}"))
        .collect()
}

fn form_values(pairs: &[(String, String)]) -> AppForm {
    AppForm {
        name: field(pairs, "name").to_owned(),
        behalf: field(pairs, "behalf").to_owned(),
        grants: pairs
            .iter()
            .filter(|(n, _)| n == "grant_types")
            .map(|(_, v)| v.clone())
            .collect(),
        redirect_uris: field(pairs, "redirect_uris").to_owned(),
        audience: field(pairs, "audience").to_owned(),
        client_uri: field(pairs, "client_uri").to_owned(),
        scopes: field(pairs, "scopes").to_owned(),
        public_keys: field(pairs, "public_keys").to_owned(),
    }
}

/// The service input of the form: an app acting on its own behalf uses
/// client_credentials; one acting for users the grants ticked, with its
/// redirect URIs, audience, client URI and user scopes.
fn app_input(form: &AppForm) -> AppInput {
    let own = form.behalf != "user";
    let keys = pem_blocks(&form.public_keys);
    let mut input = AppInput {
        client_name: Some(form.name.trim().to_owned()),
        public_keys: (!keys.is_empty()).then_some(keys),
        ..AppInput::default()
    };
    if own {
        let mut grants = vec!["client_credentials".to_owned()];
        if form.has_grant("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            grants.push("urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned());
        }
        input.grant_types = Some(grants);
        return input;
    }
    input.grant_types = Some(
        form.grants
            .iter()
            .filter(|g| g.as_str() != "client_credentials")
            .cloned()
            .collect(),
    );
    input.redirect_uris = Some(lines(&form.redirect_uris));
    input.audience = Some(form.audience.clone());
    let client_uri = form.client_uri.trim();
    input.client_uri = Some((!client_uri.is_empty()).then(|| client_uri.to_owned()));
    input.scopes = Some(form.scopes.split_whitespace().map(str::to_owned).collect());
    input
}

/// `POST /console/apps`: creates the app, then shows its page with the
/// secret (once).
#[utoipa::path(
    post,
    path = "/console/apps",
    tag = "console",
    operation_id = "consoleCreateApp",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    let visitor = match poster(
        &state,
        &headers,
        source,
        (CREATE, ""),
        field(&pairs, "csrf"),
    )
    .await
    {
        Ok(v) => v,
        Err(response) => return response,
    };
    let values = form_values(&pairs);
    let org = match OrgId::parse(field(&pairs, "org")) {
        Ok(org) => org,
        Err(err) => return refusal(err),
    };
    let created = state
        .keyhouse
        .create_app(&visitor.principal, Some(org), app_input(&values))
        .await;
    match created {
        Ok((app, secret)) => {
            let mut response = see_other(&format!("/console/apps/{}", app.client_id));
            flash::attach(
                &mut response,
                secure(&state),
                &visitor.session,
                &app.client_id,
                &secret,
            );
            response
        }
        Err(err) => {
            let problem = match input_problem(err) {
                Ok(problem) => problem,
                Err(other) => return refusal(other),
            };
            let orgs = match org_options(&state, &visitor, &org.to_string()).await {
                Ok(orgs) => orgs,
                Err(err) => return refusal(err),
            };
            console_page(
                Some(&problem),
                render(&NewAppPage {
                    nav: nav(&visitor),
                    active: "apps",
                    orgs,
                    csrf: visitor.token(CREATE, ""),
                    error: Some(problem.clone()),
                    form: values,
                }),
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn own_behalf_apps_use_client_credentials_and_user_apps_their_grants() {
        let own = app_input(&AppForm {
            name: " Build bot ".to_owned(),
            behalf: "own".to_owned(),
            grants: vec!["authorization_code".to_owned()],
            redirect_uris: "https://ignored.example/cb".to_owned(),
            ..AppForm::default()
        });
        assert_eq!(own.client_name.as_deref(), Some("Build bot"));
        assert_eq!(own.grant_types, Some(vec!["client_credentials".to_owned()]));
        assert!(own.redirect_uris.is_none() && own.audience.is_none());

        let user = app_input(&AppForm {
            name: "Portal".to_owned(),
            behalf: "user".to_owned(),
            grants: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
            redirect_uris: "https://a.example/cb\r\n\r\n https://b.example/cb ".to_owned(),
            audience: "everyone".to_owned(),
            client_uri: "https://a.example".to_owned(),
            scopes: "openid  profile".to_owned(),
            ..AppForm::default()
        });
        assert_eq!(
            user.redirect_uris,
            Some(vec![
                "https://a.example/cb".to_owned(),
                "https://b.example/cb".to_owned()
            ])
        );
        assert_eq!(
            user.scopes,
            Some(vec!["openid".to_owned(), "profile".to_owned()])
        );
        assert_eq!(user.audience.as_deref(), Some("everyone"));
    }

    #[test]
    fn pasted_pem_blocks_are_split() {
        let text = "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n\n-----BEGIN PUBLIC KEY-----\nBBB\n-----END PUBLIC KEY-----\n";
        let blocks = pem_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[1].starts_with("-----BEGIN PUBLIC KEY-----\nBBB"));
        assert!(pem_blocks("  \n").is_empty());
    }
}
