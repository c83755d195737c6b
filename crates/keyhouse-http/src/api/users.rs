//! `/accounts/api/organizations/{orgId}/users[/{userId}]` (Anypoint §7 "Users").

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::access::User;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::service::{NewOrgUser, UserChange};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody};
use crate::{wire, AppState};

/// `POST …/users` body (Anypoint's; `mfaVerificationExcluded` is accepted and ignored).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserInput)]
pub struct CreateBody {
    username: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
}

/// `PUT …/users/{userId}` body: the fields to change. Other keys (a whole
/// user object sent back, `properties`) are ignored; `username` and
/// `password` cannot be changed here.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserUpdate)]
pub struct UpdateBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    enabled: Option<bool>,
    #[schema(ignore)]
    password: Option<Value>,
}

/// `GET …/users` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    offset: Option<u64>,
    /// Default 25, at most 500.
    limit: Option<u64>,
    /// Part of a username, first or last name or email (case-insensitive).
    search: Option<String>,
}

/// `{"data": [user], "total": n}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    data: Vec<crate::openapi::schemas::User>,
    total: u64,
}

/// The flat user object, with `isFederated` true for users without a
/// password (provisioned through an identity provider). Never a hash.
fn user_json(user: &User) -> Value {
    let mut value = wire::user(user);
    value["isFederated"] = json!(user.password_hash.is_none());
    value
}

fn ids(org_id: &str, user_id: &str) -> Result<(OrgId, UserId), ApiError> {
    Ok((OrgId::parse(org_id)?, UserId::parse(user_id)?))
}

/// `GET …/users` → `{"data":[…],"total":N}`, by username.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/users",
    tag = "users",
    operation_id = "listUsers",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ListQuery),
    responses(
        (status = 200, description = "The users of the organization's tenant", body = UserList),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|_| {
        ApiError::bad_request("offset and limit must be non-negative whole numbers")
    })?;
    let page = state
        .keyhouse
        .users(
            &principal,
            OrgId::parse(&org_id)?,
            q.search.as_deref(),
            q.offset.unwrap_or(0),
            q.limit,
        )
        .await?;
    let data: Vec<Value> = page.data.iter().map(user_json).collect();
    Ok(Json(json!({"data": data, "total": page.total})))
}

/// `POST …/users` → 201 with the user (a member of this organization).
#[utoipa::path(
    post,
    path = "/accounts/api/organizations/{org_id}/users",
    tag = "users",
    operation_id = "createUser",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = CreateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = crate::openapi::schemas::User),
        (status = 400, description = "Invalid input (including a password shorter than 8 characters)", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 409, description = "The username is taken", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
    };
    let new = NewOrgUser {
        username: required(body.username, "username")?,
        password: required(body.password, "password")?,
        first_name: required(body.first_name, "firstName")?,
        last_name: required(body.last_name, "lastName")?,
        email: required(body.email, "email")?,
        phone_number: body.phone_number,
    };
    let user = state
        .keyhouse
        .create_org_user(&principal, OrgId::parse(&org_id)?, new)
        .await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

/// `GET …/users/{userId}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/users/{user_id}",
    tag = "users",
    operation_id = "getUser",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("user_id" = String, Path, format = Uuid, description = "User id")),
    responses(
        (status = 200, description = "The user", body = crate::openapi::schemas::User),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such user in this organization's tenant", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (org, user) = ids(&org_id, &user_id)?;
    let user = state.keyhouse.org_user(&principal, org, user).await?;
    Ok(Json(user_json(&user)))
}

/// `PUT …/users/{userId}` → 200 with the user. `"enabled": false` ends the
/// user's tokens and browser sessions at once.
#[utoipa::path(
    put,
    path = "/accounts/api/organizations/{org_id}/users/{user_id}",
    tag = "users",
    operation_id = "updateUser",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("user_id" = String, Path, format = Uuid, description = "User id")),
    request_body(content = UpdateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = crate::openapi::schemas::User),
        (status = 400, description = "Invalid input, or disabling yourself or an organization's owner", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization (or over this user)", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such user in this organization's tenant", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, user_id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    if body.password.is_some() {
        return Err(ApiError::bad_request(
            "The password cannot be changed through this endpoint",
        ));
    }
    let (org, user) = ids(&org_id, &user_id)?;
    let change = UserChange {
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email,
        phone_number: body.phone_number,
        enabled: body.enabled,
    };
    let user = state
        .keyhouse
        .update_org_user(&principal, org, user, change)
        .await?;
    Ok(Json(user_json(&user)))
}

/// `DELETE …/users/{userId}` → 204: the user, their tokens, sessions,
/// consents and MFA are gone.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/users/{user_id}",
    tag = "users",
    operation_id = "deleteUser",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("user_id" = String, Path, format = Uuid, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input, or deleting yourself or an organization's owner", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization (or over this user)", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such user in this organization's tenant", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath((org_id, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (org, user) = ids(&org_id, &user_id)?;
    state
        .keyhouse
        .delete_org_user(&principal, org, user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
