//! `…/connectedApplications/{clientId}/scopes` (both path families): GET lists,
//! PUT replaces, PATCH adds, DELETE removes; changes apply to live tokens at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::{EnvId, OrgId};
use keyhouse_core::service::{ScopeInput, ScopeUpdate};
use serde::Deserialize;
use serde_json::{json, Value};

use super::connected_apps::{path_client, path_org, AppPath};
use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody, Paging};
use crate::{wire, AppState};

/// `{"scopes": [{"scope": "…", "context_params": {"org": "…", "envId": "…"}}]}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ScopesInput)]
pub struct ScopesBody {
    scopes: Vec<ScopeItem>,
}

/// One scope as sent.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ScopeInput)]
pub struct ScopeItem {
    scope: String,
    #[serde(default)]
    context_params: ContextParams,
}

/// Anypoint's context keys are literally `org` and `envId`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = ScopeContextInput)]
pub struct ContextParams {
    #[schema(format = Uuid)]
    org: Option<String>,
    #[serde(rename = "envId")]
    #[schema(format = Uuid)]
    env_id: Option<String>,
}

impl ScopesBody {
    fn into_inputs(self) -> Result<Vec<ScopeInput>, ApiError> {
        self.scopes
            .into_iter()
            .map(|item| {
                Ok(ScopeInput {
                    scope: item.scope,
                    org: item
                        .context_params
                        .org
                        .as_deref()
                        .map(OrgId::parse)
                        .transpose()?,
                    env: item
                        .context_params
                        .env_id
                        .as_deref()
                        .map(EnvId::parse)
                        .transpose()?,
                })
            })
            .collect()
    }
}

/// Lists the app's scopes → `{"data": [...], "total": N}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/scopes",
    tag = "connected-apps",
    operation_id = "listAppScopes",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id"), crate::extract::Paging),
    responses(
        (status = 200, description = "The app's scopes", body = crate::openapi::schemas::ScopeGrantList),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): AppPath,
    paging: Paging,
) -> Result<Json<Value>, ApiError> {
    let grants = state
        .keyhouse
        .app_scopes(&principal, path_org(&path)?, path_client(&path)?)
        .await?;
    let total = grants.len();
    let data: Vec<Value> = grants
        .iter()
        .skip(usize::try_from(paging.offset.unwrap_or(0)).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX))
        .map(wire::scope_grant)
        .collect();
    Ok(Json(json!({"data": data, "total": total})))
}

async fn update(
    state: AppState,
    principal: keyhouse_core::service::Principal,
    path: std::collections::HashMap<String, String>,
    body: ScopesBody,
    mode: ScopeUpdate,
) -> Result<StatusCode, ApiError> {
    state
        .keyhouse
        .update_app_scopes(
            &principal,
            path_org(&path)?,
            path_client(&path)?,
            body.into_inputs()?,
            mode,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT: the scopes become exactly these → 204.
#[utoipa::path(
    put,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/scopes",
    tag = "connected-apps",
    operation_id = "replaceAppScopes",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    request_body(content = ScopesBody, content_type = "application/json"),
    responses(
        (status = 204, description = "The scopes become exactly these"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn replace(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): AppPath,
    JsonBody(body): JsonBody<ScopesBody>,
) -> Result<StatusCode, ApiError> {
    update(state, principal, path, body, ScopeUpdate::Replace).await
}

/// PATCH: adds these scopes → 204.
#[utoipa::path(
    patch,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/scopes",
    tag = "connected-apps",
    operation_id = "addAppScopes",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    request_body(content = ScopesBody, content_type = "application/json"),
    responses(
        (status = 204, description = "These scopes are added"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn add(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): AppPath,
    JsonBody(body): JsonBody<ScopesBody>,
) -> Result<StatusCode, ApiError> {
    update(state, principal, path, body, ScopeUpdate::Add).await
}

/// DELETE: removes these scopes → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/scopes",
    tag = "connected-apps",
    operation_id = "removeAppScopes",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    request_body(content = ScopesBody, content_type = "application/json"),
    responses(
        (status = 204, description = "These scopes are removed (at once from live tokens too)"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): AppPath,
    JsonBody(body): JsonBody<ScopesBody>,
) -> Result<StatusCode, ApiError> {
    update(state, principal, path, body, ScopeUpdate::Remove).await
}
