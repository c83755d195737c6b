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
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvBody {
    name: Option<String>,
    #[serde(rename = "type")]
    env_type: Option<String>,
    is_production: Option<bool>,
}

/// `GET …/environments` → `{"data":[…],"total":N}`.
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
