//! Business groups (the tree, and a form to add one) and the environments of
//! a business group (list and create), through the service calls behind
//! `…/hierarchy`, `POST /accounts/api/organizations` and `…/environments`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::{NewBusinessGroup, NewEnvironment};
use serde::Deserialize;

use super::picker::{env_groups, org_options, OrgOption};
use super::templates::{render, EnvRow, EnvsPage, OrgsPage, TreeRow};
use super::{console_page, here, input_problem, nav, poster, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

const NEW_GROUP: &str = "console-group-create";
const NEW_ENV: &str = "console-env-create";

/// The tree as nested-list rows: after each row, how many lists close.
fn tree_rows(orgs: &[OrgOption], env_counts: &[usize]) -> Vec<TreeRow> {
    orgs.iter()
        .enumerate()
        .map(|(i, org)| {
            let next_depth = orgs.get(i + 1).map_or(0, |n| n.depth);
            TreeRow {
                id: org.id.clone(),
                name: org.name.clone(),
                environments: env_counts.get(i).copied().unwrap_or_default(),
                children: org.has_children,
                close: if org.has_children {
                    0
                } else {
                    org.depth.saturating_sub(next_depth)
                },
            }
        })
        .collect()
}

async fn tree_page(state: &AppState, visitor: &Visitor, error: Option<String>) -> Response {
    let orgs = match org_options(state, visitor, "").await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let counts = match env_groups(state, visitor, &orgs).await {
        Ok(groups) => orgs
            .iter()
            .map(|o| {
                groups
                    .iter()
                    .find(|g| g.org_id == o.id)
                    .map_or(0, |g| g.envs.len())
            })
            .collect::<Vec<_>>(),
        Err(err) => return refusal(err),
    };
    let body = render(&OrgsPage {
        nav: nav(visitor),
        active: "orgs",
        rows: tree_rows(&orgs, &counts),
        orgs,
        csrf: visitor.token(NEW_GROUP, ""),
        error: error.clone(),
    });
    console_page(error.as_deref(), body)
}

/// `GET /console/orgs`: the business groups the visitor can see.
#[utoipa::path(
    get,
    path = "/console/orgs",
    tag = "console",
    operation_id = "consoleOrgs",
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn tree(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(visitor) => tree_page(&state, &visitor, None).await,
        Err(response) => response,
    }
}

/// The create forms' fields.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent: String,
    #[serde(default, rename = "type")]
    env_type: String,
}

/// `POST /console/orgs`: a business group under the picked parent.
#[utoipa::path(
    post,
    path = "/console/orgs",
    tag = "console",
    operation_id = "consoleCreateGroup",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn create_group(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let visitor = match poster(&state, &headers, source, (NEW_GROUP, ""), &form.csrf).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let created = match OrgId::parse(&form.parent) {
        Ok(parent_id) => {
            let new = NewBusinessGroup {
                name: form.name,
                parent_id,
                owner_id: None,
                entitlements: None,
            };
            state
                .keyhouse
                .create_business_group(&visitor.principal, new)
                .await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(_) => see_other("/console/orgs"),
        Err(err) => match input_problem(err) {
            Ok(problem) => tree_page(&state, &visitor, Some(problem)).await,
            Err(other) => refusal(other),
        },
    }
}

async fn envs_page(
    state: &AppState,
    visitor: &Visitor,
    org_id: &str,
    name: String,
    error: Option<String>,
) -> Response {
    let org = match OrgId::parse(org_id) {
        Ok(org) => org,
        Err(err) => return refusal(err),
    };
    let listed = state
        .keyhouse
        .environments(&visitor.principal, org, 0, None)
        .await;
    let envs = match listed {
        Ok(page) => page.data,
        Err(err) => return refusal(err),
    };
    let org_name = match org_options(state, visitor, org_id).await {
        Ok(orgs) => orgs
            .into_iter()
            .find(|o| o.id == org_id)
            .map_or_else(|| org_id.to_owned(), |o| o.name),
        Err(err) => return refusal(err),
    };
    let body = render(&EnvsPage {
        nav: nav(visitor),
        active: "orgs",
        org_id: org.to_string(),
        org_name,
        envs: envs
            .into_iter()
            .map(|e| EnvRow {
                id: e.id.to_string(),
                name: e.name,
                env_type: e.env_type.as_str().to_owned(),
                client_id: e.client_id,
            })
            .collect(),
        csrf: visitor.token(NEW_ENV, &org.to_string()),
        error: error.clone(),
        name,
    });
    console_page(error.as_deref(), body)
}

/// `GET /console/orgs/{org_id}/environments`.
#[utoipa::path(
    get,
    path = "/console/orgs/{org_id}/environments",
    tag = "console",
    operation_id = "consoleEnvironments",
    params(("org_id" = String, Path, format = Uuid, description = "Business group id")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn environments(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(org_id): Path<String>,
) -> Response {
    match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(visitor) => envs_page(&state, &visitor, &org_id, String::new(), None).await,
        Err(response) => response,
    }
}

/// `POST /console/orgs/{org_id}/environments`: a new environment.
#[utoipa::path(
    post,
    path = "/console/orgs/{org_id}/environments",
    tag = "console",
    operation_id = "consoleCreateEnvironment",
    params(("org_id" = String, Path, format = Uuid, description = "Business group id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn create_environment(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let visitor = match poster(&state, &headers, source, (NEW_ENV, &org_id), &form.csrf).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let created = match OrgId::parse(&org_id) {
        Ok(org) => {
            let new = NewEnvironment {
                name: form.name.clone(),
                env_type: Some(form.env_type.clone()).filter(|t| !t.is_empty()),
                is_production: None,
            };
            state
                .keyhouse
                .create_environment(&visitor.principal, org, new)
                .await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(_) => see_other(&format!("/console/orgs/{org_id}/environments")),
        Err(err) => match input_problem(err) {
            Ok(problem) => envs_page(&state, &visitor, &org_id, form.name, Some(problem)).await,
            Err(other) => refusal(other),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn org(depth: usize, has_children: bool) -> OrgOption {
        OrgOption {
            id: format!("o{depth}"),
            name: format!("Org {depth}"),
            label: String::new(),
            depth,
            selected: false,
            has_children,
        }
    }

    #[test]
    fn nested_lists_close_where_the_tree_climbs() {
        // root > a > a1, a2 ; root > b
        let orgs = [
            org(0, true),
            org(1, true),
            org(2, false),
            org(2, false),
            org(1, false),
        ];
        let rows = tree_rows(&orgs, &[]);
        let closes: Vec<usize> = rows.iter().map(|r| r.close).collect();
        assert_eq!(closes, [0, 0, 0, 1, 1]);
        assert_eq!(rows.iter().filter(|r| r.children).count(), 2);
    }
}
