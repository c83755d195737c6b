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
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    mfa_required: Option<bool>,
}

/// `GET /accounts/api/organizations/{orgId}/mfa` → `{"mfaRequired": bool}`.
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
