//! Multi-factor authentication for administrators (docs/mfa.md): the
//! organization's policy (`…/organizations/{orgId}/mfa`) and resetting a
//! user's factor (`…/organizations/{orgId}/users/{userId}/mfa`). Anypoint
//! documents no paths for these; these are Keyhouse's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::{OrgId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, ClientIp, JsonBody};
use crate::AppState;

/// `PUT …/mfa` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MfaPolicyInput)]
pub struct PolicyBody {
    mfa_required: Option<bool>,
}

/// `GET /accounts/api/organizations/{orgId}/mfa` → `{"mfaRequired": bool}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/mfa",
    tag = "mfa",
    operation_id = "getMfaPolicy",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "The policy", body = crate::openapi::schemas::MfaPolicy),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn policy(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let org = OrgId::parse(&org_id)?;
    let required = state.keyhouse.mfa_policy(&principal, org).await?;
    Ok(Json(json!({"mfaRequired": required})))
}

/// `PUT /accounts/api/organizations/{orgId}/mfa` with `{"mfaRequired": bool}`
/// → 200 with the policy now in force.
#[utoipa::path(
    put,
    path = "/accounts/api/organizations/{org_id}/mfa",
    tag = "mfa",
    operation_id = "setMfaPolicy",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = PolicyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The policy now in force", body = crate::openapi::schemas::MfaPolicy),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn set_policy(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Json<Value>, ApiError> {
    let org = OrgId::parse(&org_id)?;
    let required = body
        .mfa_required
        .ok_or_else(|| ApiError::bad_request("mfaRequired (true or false) is required"))?;
    let now = state
        .keyhouse
        .set_mfa_policy(&principal, org, required, source)
        .await?;
    Ok(Json(json!({"mfaRequired": now})))
}

/// `DELETE /accounts/api/organizations/{orgId}/users/{userId}/mfa` → 204: the
/// user's factor and recovery codes are gone (they enroll again, or sign in
/// with the password alone when the organization does not require MFA).
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/users/{user_id}/mfa",
    tag = "mfa",
    operation_id = "resetUserMfa",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("user_id" = String, Path, format = Uuid, description = "User id")),
    responses(
        (status = 204, description = "The user's factor and recovery codes are removed"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn reset_user(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = OrgId::parse(&org_id)?;
    let user = UserId::parse(&user_id)?;
    state
        .keyhouse
        .reset_user_mfa(&principal, org, user, source)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
