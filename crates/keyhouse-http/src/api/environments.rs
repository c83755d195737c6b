//! `/accounts/api/organizations/{orgId}/environments[/{envId}]`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::{EnvId, OrgId};
use keyhouse_core::service::{EnvUpdate, NewEnvironment};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody, Paging};
use crate::{wire, AppState};

/// Create/update body: `{"name","type","isProduction"}` (extra keys such as
/// `organizationId`, sent by anypoint-cli-v4, are ignored: the path decides).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EnvironmentInput)]
pub struct EnvBody {
    name: Option<String>,
    #[serde(rename = "type")]
    env_type: Option<String>,
    is_production: Option<bool>,
}

/// `GET …/environments` → `{"data":[…],"total":N}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/environments",
    tag = "environments",
    operation_id = "listEnvironments",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), crate::extract::Paging),
    responses(
        (status = 200, description = "The environments", body = crate::openapi::schemas::EnvironmentList),
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
    ApiPath(org_id): ApiPath<String>,
    paging: Paging,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .keyhouse
        .environments(
            &principal,
            OrgId::parse(&org_id)?,
            paging.offset.unwrap_or(0),
            paging.limit,
        )
        .await?;
    let data: Vec<Value> = page.data.iter().map(wire::environment).collect();
    Ok(Json(json!({"data": data, "total": page.total})))
}

/// `POST …/environments` → 201 with the environment.
#[utoipa::path(
    post,
    path = "/accounts/api/organizations/{org_id}/environments",
    tag = "environments",
    operation_id = "createEnvironment",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = EnvBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = crate::openapi::schemas::Environment),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(body): JsonBody<EnvBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::bad_request("Environment name is required"))?;
    let new = NewEnvironment {
        name,
        env_type: body.env_type,
        is_production: body.is_production,
    };
    let env = state
        .keyhouse
        .create_environment(&principal, OrgId::parse(&org_id)?, new)
        .await?;
    Ok((StatusCode::CREATED, Json(wire::environment(&env))))
}

/// `GET …/environments/{envId}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/environments/{env_id}",
    tag = "environments",
    operation_id = "getEnvironment",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("env_id" = String, Path, format = Uuid, description = "Environment id")),
    responses(
        (status = 200, description = "The environment", body = crate::openapi::schemas::Environment),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, env_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let env = state
        .keyhouse
        .environment(&principal, OrgId::parse(&org_id)?, EnvId::parse(&env_id)?)
        .await?;
    Ok(Json(wire::environment(&env)))
}

/// `PUT …/environments/{envId}`: renames → 200 with the environment.
#[utoipa::path(
    put,
    path = "/accounts/api/organizations/{org_id}/environments/{env_id}",
    tag = "environments",
    operation_id = "updateEnvironment",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("env_id" = String, Path, format = Uuid, description = "Environment id")),
    request_body(content = EnvBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = crate::openapi::schemas::Environment),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, env_id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<EnvBody>,
) -> Result<Json<Value>, ApiError> {
    let update = EnvUpdate {
        name: body.name,
        env_type: body.env_type,
        is_production: body.is_production,
    };
    let env = state
        .keyhouse
        .update_environment(
            &principal,
            OrgId::parse(&org_id)?,
            EnvId::parse(&env_id)?,
            update,
        )
        .await?;
    Ok(Json(wire::environment(&env)))
}

/// `DELETE …/environments/{envId}` → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/environments/{env_id}",
    tag = "environments",
    operation_id = "deleteEnvironment",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("env_id" = String, Path, format = Uuid, description = "Environment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, env_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .keyhouse
        .delete_environment(&principal, OrgId::parse(&org_id)?, EnvId::parse(&env_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
