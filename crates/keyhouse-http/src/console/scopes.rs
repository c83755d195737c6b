//! `POST /console/apps/{client_id}/scopes/add|remove`: the scopes editor's
//! forms, through the service call behind `PATCH`/`DELETE
//! …/connectedApplications/{clientId}/scopes` (changes reach live tokens at
//! once). A refused change shows the app's page again with the reason.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use keyhouse_core::error::CoreResult;
use keyhouse_core::ids::{EnvId, OrgId};
use keyhouse_core::oauth::scope::{lookup, ScopeContext};
use keyhouse_core::service::{ScopeInput, ScopeUpdate};
use serde::Deserialize;

use super::detail::{app_page, ADD_SCOPE, REMOVE_SCOPE};
use super::{input_problem, poster, refusal};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// One scope with the business group and environment picked for it.
#[derive(Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    env: String,
}

impl ScopeForm {
    /// The service input: the pickers' ids, left out where the scope takes
    /// no context (a global scope ignores the business-group picker).
    fn input(&self) -> CoreResult<ScopeInput> {
        let context = lookup(&self.scope).map(|s| s.context);
        let org = match (context, self.org.trim()) {
            (Some(ScopeContext::Global), _) | (_, "") => None,
            (_, id) => Some(OrgId::parse(id)?),
        };
        let env = match (context, self.env.trim()) {
            (Some(ScopeContext::Global), _) | (_, "") => None,
            (_, id) => Some(EnvId::parse(id)?),
        };
        Ok(ScopeInput {
            scope: self.scope.trim().to_owned(),
            org,
            env,
        })
    }
}

async fn change(
    state: AppState,
    source: Option<std::net::IpAddr>,
    headers: HeaderMap,
    client_id: String,
    form: Result<Form<ScopeForm>, FormRejection>,
    (purpose, mode): (&str, ScopeUpdate),
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let visitor = match poster(&state, &headers, source, (purpose, &client_id), &form.csrf).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let changed = match form.input() {
        Ok(input) => {
            state
                .keyhouse
                .update_app_scopes(&visitor.principal, None, &client_id, vec![input], mode)
                .await
        }
        Err(err) => Err(err),
    };
    match changed {
        Ok(()) => see_other(&format!("/console/apps/{client_id}#scopes")),
        Err(err) => match input_problem(err) {
            Ok(problem) => app_page(&state, &visitor, &client_id, None, Some(problem)).await,
            Err(other) => refusal(other),
        },
    }
}

/// Adds the picked scope.
#[utoipa::path(
    post,
    path = "/console/apps/{client_id}/scopes/add",
    tag = "console",
    operation_id = "consoleAddScope",
    params(("client_id" = String, Path, description = "Connected app client id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn add(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<ScopeForm>, FormRejection>,
) -> Response {
    change(
        state,
        source,
        headers,
        client_id,
        form,
        (ADD_SCOPE, ScopeUpdate::Add),
    )
    .await
}

/// Removes one scope (its row's button).
#[utoipa::path(
    post,
    path = "/console/apps/{client_id}/scopes/remove",
    tag = "console",
    operation_id = "consoleRemoveScope",
    params(("client_id" = String, Path, description = "Connected app client id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn remove(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<ScopeForm>, FormRejection>,
) -> Response {
    change(
        state,
        source,
        headers,
        client_id,
        form,
        (REMOVE_SCOPE, ScopeUpdate::Remove),
    )
    .await
}
