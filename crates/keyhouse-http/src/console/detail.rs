//! `GET /console/apps/{client_id}`: one app, its scopes editor (business
//! group and environment pickers), secret reset, the way to delete it, and
//! its recent use from the audit log. A secret just made is shown here once.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use keyhouse_core::access::{ConnectedApp, GrantType};
use keyhouse_core::oauth::scope::lookup;
use keyhouse_core::service::AuditQueryInput;
use keyhouse_core::CoreError;

use super::picker::{env_groups, org_options, scope_choices, OrgOption};
use super::templates::{render, AppPage, AppView, ScopeRow, Usage, UsageRow};
use super::{console_page, flash, here, nav, refusal, secure, visitor, Visitor};
use crate::extract::ClientIp;
use crate::AppState;

/// Token issuances listed under "Recent use".
const USAGE_ROWS: u64 = 5;
/// Form purposes of the page's forms (bound to the app's client id).
pub(crate) const ADD_SCOPE: &str = "console-scope-add";
pub(crate) const REMOVE_SCOPE: &str = "console-scope-remove";

fn view(app: &ConnectedApp, orgs: &[OrgOption]) -> AppView {
    let org_id = app.org_id.to_string();
    AppView {
        client_id: app.client_id.clone(),
        name: app.name.clone(),
        org_name: orgs
            .iter()
            .find(|o| o.id == org_id)
            .map_or(org_id.clone(), |o| o.name.clone()),
        grants: app
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        redirect_uris: app.redirect_uris.clone(),
        audience: app.audience.as_str().to_owned(),
        enabled: app.enabled,
        public_client: app.public_client,
        own_behalf: app.allows(GrantType::ClientCredentials),
        created: app.created_at.to_iso(),
        secret_updated: app.secret_updated_at.to_iso(),
    }
}

/// The app's recent token issuances (the `token.issued` audit events: one per
/// token issued to a user, one per commit batch for the app's own tokens)
/// and its users' grants.
async fn usage(
    state: &AppState,
    visitor: &Visitor,
    app: &ConnectedApp,
) -> Result<Usage, CoreError> {
    let input = AuditQueryInput {
        actions: vec!["token.issued".to_owned()],
        object_ids: vec![app.client_id.clone()],
        limit: Some(USAGE_ROWS),
        ..AuditQueryInput::default()
    };
    let issued = match state
        .keyhouse
        .query_audit(&visitor.principal, app.org_id, input)
        .await
    {
        Ok(found) => found
            .data
            .into_iter()
            .map(|e| UsageRow {
                at: e.at.to_iso(),
                grant: e.detail["grant_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                count: e.detail["count"].as_u64().unwrap_or(1),
                user: e.actor_user_id.map(|u| u.to_string()).unwrap_or_default(),
            })
            .collect(),
        Err(CoreError::Forbidden(_)) => Vec::new(),
        Err(other) => return Err(other),
    };
    let authorized_users = match state
        .keyhouse
        .app_grants(&visitor.principal, app.org_id, &app.client_id)
        .await
    {
        Ok(grants) => Some(grants.len()),
        Err(CoreError::Forbidden(_)) => None,
        Err(other) => return Err(other),
    };
    Ok(Usage {
        issued,
        authorized_users,
    })
}

/// The whole page, with an optional error line (a refused scope change) and
/// the secret to show once.
pub(crate) async fn app_page(
    state: &AppState,
    visitor: &Visitor,
    client_id: &str,
    secret: Option<String>,
    error: Option<String>,
) -> Response {
    let app = match state
        .keyhouse
        .app(&visitor.principal, None, client_id)
        .await
    {
        Ok(app) => app,
        Err(err) => return refusal(err),
    };
    let loaded = async {
        let orgs = org_options(state, visitor, &app.org_id.to_string()).await?;
        let envs = env_groups(state, visitor, &orgs).await?;
        let grants = state
            .keyhouse
            .app_scopes(&visitor.principal, None, client_id)
            .await?;
        let usage = usage(state, visitor, &app).await?;
        Ok::<_, CoreError>((orgs, envs, grants, usage))
    };
    let (orgs, envs, grants, usage) = match loaded.await {
        Ok(all) => all,
        Err(err) => return refusal(err),
    };
    let env_name = |id: &str| {
        envs.iter()
            .flat_map(|g| g.envs.iter())
            .find(|e| e.id == id)
            .map_or(id.to_owned(), |e| e.name.clone())
    };
    let org_name = |id: &str| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or(id.to_owned(), |o| o.name.clone())
    };
    let scopes = grants
        .iter()
        .map(|g| {
            let org_id = g.org.map(|o| o.to_string()).unwrap_or_default();
            let env_id = g.env.map(|e| e.to_string()).unwrap_or_default();
            ScopeRow {
                label: lookup(&g.scope).map_or(g.scope.clone(), |i| i.display_name.to_owned()),
                scope: g.scope.clone(),
                org_name: if org_id.is_empty() {
                    String::new()
                } else {
                    org_name(&org_id)
                },
                env_name: if env_id.is_empty() {
                    String::new()
                } else {
                    env_name(&env_id)
                },
                org_id,
                env_id,
            }
        })
        .collect();
    let body = render(&AppPage {
        nav: nav(visitor),
        active: "apps",
        app: view(&app, &orgs),
        secret: secret.clone(),
        scopes,
        scope_choices: scope_choices(),
        orgs,
        envs,
        add_csrf: visitor.token(ADD_SCOPE, &app.client_id),
        remove_csrf: visitor.token(REMOVE_SCOPE, &app.client_id),
        reset_csrf: visitor.token(super::lifecycle::RESET, &app.client_id),
        error: error.clone(),
        usage,
    });
    let response = console_page(error.as_deref(), body);
    if secret.is_some() {
        // The copy button's script (same origin, no inline code).
        super::copy_script::allow_on(response)
    } else {
        response
    }
}

/// `GET /console/apps/{client_id}`.
#[utoipa::path(
    get,
    path = "/console/apps/{client_id}",
    tag = "console",
    operation_id = "consoleApp",
    params(("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn detail(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(client_id): Path<String>,
) -> Response {
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let secure = secure(&state);
    let secret = flash::take(&headers, secure, &visitor.session, &client_id);
    let mut response = app_page(&state, &visitor, &client_id, secret, None).await;
    flash::clear(&mut response, &headers, secure);
    response
}
