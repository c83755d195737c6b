//! `/accounts/api/[organizations/{orgId}/]connectedApplications[/{clientId}]`:
//! both path families Anypoint documents, one handler each.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::service::AppInput;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody, OptionalJson};
use crate::{wire, AppState};

/// Path parameters of either family: `org_id` is absent on the short paths.
pub type AppPath = ApiPath<HashMap<String, String>>;

/// The organization named in the path (or `orgId` query), if any.
pub fn path_org(path: &HashMap<String, String>) -> Result<Option<OrgId>, ApiError> {
    Ok(path.get("org_id").map(|o| OrgId::parse(o)).transpose()?)
}

/// The client id named in the path.
pub fn path_client(path: &HashMap<String, String>) -> Result<&str, ApiError> {
    path.get("client_id")
        .map(String::as_str)
        .ok_or_else(|| ApiError::bad_request("client id missing from the path"))
}

/// Create/patch body (Anypoint field names). `client_uri`/`policy_uri` may be
/// `null` to clear them, so they are read as raw JSON.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ConnectedAppInput)]
pub struct AppBody {
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    public_keys: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    audience: Option<String>,
    client_uri: Option<Value>,
    policy_uri: Option<Value>,
    enabled: Option<bool>,
    owner_user_id: Option<String>,
    client_secret: Option<String>,
    token_endpoint_auth_method: Option<String>,
}

fn nullable(field: &str, value: Option<Value>) -> Result<Option<Option<String>>, ApiError> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s))),
        Some(_) => Err(ApiError::bad_request(format!(
            "{field} must be a string or null"
        ))),
    }
}

impl AppBody {
    fn into_input(self) -> Result<AppInput, ApiError> {
        Ok(AppInput {
            client_name: self.client_name,
            grant_types: self.grant_types,
            redirect_uris: self.redirect_uris,
            public_keys: self.public_keys,
            scopes: self.scopes,
            audience: self.audience,
            client_uri: nullable("client_uri", self.client_uri)?,
            policy_uri: nullable("policy_uri", self.policy_uri)?,
            enabled: self.enabled,
            owner_user_id: self.owner_user_id.map(|u| UserId::parse(&u)).transpose()?,
            client_secret: self.client_secret,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
        })
    }
}

/// `GET …/connectedApplications` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the apps of this organization.
    #[param(format = Uuid)]
    org_id: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
    search: Option<String>,
}

/// `PATCH …?resetSecret=true`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PatchQuery {
    reset_secret: Option<bool>,
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|_| ApiError::bad_request("The query parameters are not valid"))
}

/// Creates an app → 201 with `client_id` and `client_secret` (shown this once).
#[utoipa::path(
    post,
    path = "/accounts/api/organizations/{org_id}/connectedApplications",
    tag = "connected-apps",
    operation_id = "createConnectedApp",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = AppBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `client_secret` is shown this once", body = crate::openapi::schemas::ConnectedApp),
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
    ApiPath(path): AppPath,
    JsonBody(body): JsonBody<AppBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (app, secret) = state
        .keyhouse
        .create_app(&principal, path_org(&path)?, body.into_input()?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::connected_app(&app, Some(&secret))),
    ))
}

/// Lists apps → `{"data": [...], "total": N}` (no secrets).
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/connectedApplications",
    tag = "connected-apps",
    operation_id = "listConnectedApps",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ListQuery),
    responses(
        (status = 200, description = "The apps (without secrets)", body = crate::openapi::schemas::ConnectedAppList),
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
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let org = match path_org(&path)? {
        Some(org) => Some(org),
        None => q.org_id.as_deref().map(OrgId::parse).transpose()?,
    };
    let page = state
        .keyhouse
        .apps(
            &principal,
            org,
            q.search.as_deref(),
            q.offset.unwrap_or(0),
            q.limit,
        )
        .await?;
    let data: Vec<Value> = page
        .data
        .iter()
        .map(|a| wire::connected_app(a, None))
        .collect();
    Ok(Json(json!({"data": data, "total": page.total})))
}

/// One app (no secret).
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}",
    tag = "connected-apps",
    operation_id = "getConnectedApp",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 200, description = "The app (without its secret)", body = crate::openapi::schemas::ConnectedApp),
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
    ApiPath(path): AppPath,
) -> Result<Json<Value>, ApiError> {
    let app = state
        .keyhouse
        .app(&principal, path_org(&path)?, path_client(&path)?)
        .await?;
    Ok(Json(wire::connected_app(&app, None)))
}

/// Partial update; `?resetSecret=true` answers with the new secret.
#[utoipa::path(
    patch,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}",
    tag = "connected-apps",
    operation_id = "updateConnectedApp",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id"), PatchQuery),
    request_body(content = Option<AppBody>, content_type = "application/json", description = "Fields to change; may be left out with `resetSecret=true`"),
    responses(
        (status = 200, description = "Updated; with `resetSecret=true` the new `client_secret`", body = crate::openapi::schemas::ConnectedApp),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn patch(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): AppPath,
    q: Result<Query<PatchQuery>, axum::extract::rejection::QueryRejection>,
    OptionalJson(body): OptionalJson<AppBody>,
) -> Result<Json<Value>, ApiError> {
    let reset = query(q)?.reset_secret.unwrap_or(false);
    let input = match body {
        Some(b) => b.into_input()?,
        None if reset => AppInput::default(),
        None => return Err(ApiError::bad_request("A JSON body is required")),
    };
    let (app, secret) = state
        .keyhouse
        .update_app(
            &principal,
            path_org(&path)?,
            path_client(&path)?,
            input,
            reset,
        )
        .await?;
    Ok(Json(wire::connected_app(&app, secret.as_deref())))
}

/// Deletes an app → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}",
    tag = "connected-apps",
    operation_id = "deleteConnectedApp",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 204, description = "Deleted; its tokens stop working"),
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
    ApiPath(path): AppPath,
) -> Result<StatusCode, ApiError> {
    state
        .keyhouse
        .delete_app(&principal, path_org(&path)?, path_client(&path)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
