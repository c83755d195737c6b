//! Users' grants to apps acting on their behalf: the user's own list and
//! revocation (`/accounts/api/users/me/authorizations`), and an admin's view of
//! one app's grants (`…/connectedApplications/{clientId}/grants`). Anypoint has
//! no documented paths for these (reference §5.4); these are Keyhouse's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::AuthorizedApp;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, ClientIp};
use crate::AppState;

fn entry(a: &AuthorizedApp, with_user: bool) -> Value {
    let mut v = json!({
        "client_id": a.client_id,
        "client_name": a.client_name,
        "scopes": a.scopes,
        "created_at": a.created_at.to_iso(),
        "updated_at": a.updated_at.to_iso(),
        "last_used_at": a.last_used_at.map(|t| t.to_iso()),
    });
    if let (true, Value::Object(map)) = (with_user, &mut v) {
        map.insert("user_id".into(), json!(a.user_id.to_string()));
        map.insert("username".into(), json!(a.username));
    }
    v
}

fn envelope(apps: &[AuthorizedApp], with_user: bool) -> Json<Value> {
    let data: Vec<Value> = apps.iter().map(|a| entry(a, with_user)).collect();
    Json(json!({"data": data, "total": apps.len()}))
}

/// `GET /accounts/api/users/me/authorizations`.
#[utoipa::path(
    get,
    path = "/accounts/api/users/me/authorizations",
    tag = "authorizations",
    operation_id = "listMyAuthorizations",
    responses(
        (status = 200, description = "Apps the caller authorized", body = crate::openapi::schemas::AuthorizationList),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn mine(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let apps = state.keyhouse.my_authorizations(&principal).await?;
    Ok(envelope(&apps, false))
}

/// `DELETE /accounts/api/users/me/authorizations/{clientId}` → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/users/me/authorizations/{client_id}",
    tag = "authorizations",
    operation_id = "revokeMyAuthorization",
    params(("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 204, description = "Revoked: the app's tokens for the caller stop working"),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn revoke_mine(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    Authenticated(principal): Authenticated,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .keyhouse
        .revoke_my_authorization(&principal, &client_id, source)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /accounts/api/organizations/{orgId}/connectedApplications/{clientId}/grants`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/grants",
    tag = "connected-apps",
    operation_id = "listAppGrants",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 200, description = "Users who authorized the app", body = crate::openapi::schemas::AuthorizationList),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn of_app(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, client_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let org = OrgId::parse(&org_id)?;
    let apps = state
        .keyhouse
        .app_grants(&principal, org, &client_id)
        .await?;
    Ok(envelope(&apps, true))
}

/// `DELETE …/connectedApplications/{clientId}/grants` → 204: every user's grant revoked.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/grants",
    tag = "connected-apps",
    operation_id = "revokeAppGrants",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 204, description = "Every user's grant revoked"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn revoke_app(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, client_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = OrgId::parse(&org_id)?;
    state
        .keyhouse
        .revoke_app_grants(&principal, org, &client_id, source)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
