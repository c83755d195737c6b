//! `/accounts/api/organizations[/{orgId}[/hierarchy]]`: organizations and business groups.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::service::{NewBusinessGroup, OrgUpdate};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody};
use crate::{wire, AppState};

/// `POST /accounts/api/organizations` body (Anypoint: name, parentOrganizationId,
/// ownerId, entitlements; ownerId defaults to the caller, entitlements to defaults).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OrganizationCreate)]
pub struct CreateBody {
    name: Option<String>,
    parent_organization_id: Option<String>,
    owner_id: Option<String>,
    entitlements: Option<Value>,
}

/// `PUT /accounts/api/organizations/{orgId}` body; absent fields keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OrganizationUpdate)]
pub struct UpdateBody {
    id: Option<String>,
    name: Option<String>,
    owner_id: Option<String>,
    session_timeout: Option<i64>,
    entitlements: Option<Value>,
    properties: Option<Value>,
    parent_organization_id: Option<String>,
    /// Login domain (`/accounts/login/{domain}`); `null` or `""` clears it.
    #[serde(default, deserialize_with = "present")]
    domain: Option<Value>,
}

/// Keeps an explicit `null` (`Some(Value::Null)`) apart from an absent field (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn optional_user(raw: Option<String>) -> Result<Option<UserId>, ApiError> {
    Ok(raw.map(|r| UserId::parse(&r)).transpose()?)
}

/// Creates a business group → 201 with the organization object.
#[utoipa::path(
    post,
    path = "/accounts/api/organizations",
    tag = "organizations",
    operation_id = "createBusinessGroup",
    request_body(content = CreateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The new business group", body = crate::openapi::schemas::Organization),
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
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = body
        .name
        .ok_or_else(|| ApiError::bad_request("Organization Name provided is empty"))?;
    let parent = body
        .parent_organization_id
        .ok_or_else(|| ApiError::bad_request("parentOrganizationId is required"))?;
    let new = NewBusinessGroup {
        name,
        parent_id: OrgId::parse(&parent)?,
        owner_id: optional_user(body.owner_id)?,
        entitlements: body.entitlements,
    };
    let created = state
        .keyhouse
        .create_business_group(&principal, new)
        .await?;
    Ok((StatusCode::CREATED, Json(wire::org_details(&created))))
}

/// `GET /accounts/api/organizations/{orgId}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}",
    tag = "organizations",
    operation_id = "getOrganization",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "The organization", body = crate::openapi::schemas::Organization),
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
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let details = state
        .keyhouse
        .organization(&principal, OrgId::parse(&org_id)?)
        .await?;
    Ok(Json(wire::org_details(&details)))
}

/// `PUT /accounts/api/organizations/{orgId}` → 200 with the updated object.
#[utoipa::path(
    put,
    path = "/accounts/api/organizations/{org_id}",
    tag = "organizations",
    operation_id = "updateOrganization",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = UpdateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = crate::openapi::schemas::Organization),
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
    ApiPath(org_id): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let org_id = OrgId::parse(&org_id)?;
    if let Some(id) = body.id {
        if OrgId::parse(&id)? != org_id {
            return Err(ApiError::bad_request(
                "id in the body does not match the path",
            ));
        }
    }
    // The login domain is written first, by its own operation: the other
    // fields go through the organization update below, which leaves it alone.
    match body.domain {
        None => {}
        Some(Value::Null) => {
            state
                .keyhouse
                .set_login_domain(&principal, org_id, None)
                .await?
        }
        Some(Value::String(domain)) => {
            state
                .keyhouse
                .set_login_domain(&principal, org_id, Some(&domain))
                .await?
        }
        Some(_) => return Err(ApiError::bad_request("domain must be a string or null")),
    }
    let update = OrgUpdate {
        name: body.name,
        owner_id: optional_user(body.owner_id)?,
        session_timeout: body.session_timeout,
        entitlements: body.entitlements,
        properties: body.properties,
        parent_id: body
            .parent_organization_id
            .map(|p| OrgId::parse(&p))
            .transpose()?,
    };
    let details = state
        .keyhouse
        .update_organization(&principal, org_id, update)
        .await?;
    Ok(Json(wire::org_details(&details)))
}

/// `DELETE /accounts/api/organizations/{orgId}` → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}",
    tag = "organizations",
    operation_id = "deleteOrganization",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .keyhouse
        .delete_organization(&principal, OrgId::parse(&org_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /accounts/api/organizations/{orgId}/hierarchy`: nested `subOrganizations`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/hierarchy",
    tag = "organizations",
    operation_id = "organizationHierarchy",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "The organization and its business groups, nested", body = crate::openapi::schemas::HierarchyNode),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn hierarchy(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let node = state
        .keyhouse
        .hierarchy(&principal, OrgId::parse(&org_id)?)
        .await?;
    Ok(Json(wire::hierarchy(&node)))
}
