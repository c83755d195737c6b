//! `/audit/v2/organizations/{orgId}/…`: Anypoint's Audit Log Query API
//! (reference §8). Errors answer `{"status", "message"}` like `/accounts`;
//! a token without `read:audit_logs` gets 403 (RFC 6750 §3.1).

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::{AuditQueryInput, AuditResults};
use keyhouse_core::time_fmt::Timestamp;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, OptionalJson};
use crate::{wire, AppState};

pub mod schema;

/// The audit routes, merged into the router by [`super::routes`].
pub fn routes() -> Router<AppState> {
    const BASE: &str = "/audit/v2/organizations/{org_id}";
    Router::new()
        .route(&format!("{BASE}/query"), post(query))
        .route(&format!("{BASE}/platforms"), get(platforms))
        .route(&format!("{BASE}/retentionSettings"), get(retention))
}

/// The query body (Anypoint names). Lists may be absent or `null`; dates are
/// ISO-8601 text or epoch milliseconds. Unknown keys are ignored.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditQuery)]
pub struct QueryBody {
    /// Events at or after this instant: ISO-8601 text or epoch milliseconds.
    #[schema(value_type = Option<String>, example = "2025-03-01T00:00:00.000Z")]
    start_date: Option<Value>,
    /// Events at or before this instant: ISO-8601 text or epoch milliseconds.
    #[schema(value_type = Option<String>, example = "2025-03-31T23:59:59.999Z")]
    end_date: Option<Value>,
    platforms: Option<Vec<String>>,
    object_types: Option<Vec<String>>,
    actions: Option<Vec<String>>,
    object_ids: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    environment_ids: Option<Vec<String>>,
    organization_id: Option<String>,
    ascending: Option<bool>,
    offset: Option<u64>,
    limit: Option<u64>,
    cursor: Option<String>,
}

/// The query string: `cursorPagination`, `doIncludeTotal`, and the `limit`/
/// `offset` some clients send here instead of the body (the body wins).
/// `include_internal` is accepted and has no effect.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct QueryParams {
    /// `true`: cursor mode (`{"data", "cursor"}`).
    cursor_pagination: Option<bool>,
    /// `true`: `total` in cursor mode too.
    do_include_total: Option<bool>,
    /// Page size when the body names none (1–1000, default 25).
    limit: Option<u64>,
    /// Events to skip when the body names no `offset`.
    offset: Option<u64>,
    /// Accepted; no effect.
    #[serde(rename = "include_internal")]
    #[param(rename = "include_internal")]
    _include_internal: Option<bool>,
}

/// A date filter: ISO-8601 text, epoch milliseconds (a number or digits), or null.
fn date(field: &str, value: Option<Value>) -> Result<Option<Timestamp>, ApiError> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Timestamp),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok().map(Timestamp)
        }
        Some(Value::String(s)) => Timestamp::parse_iso(&s),
        Some(_) => None,
    };
    parsed.map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field} must be an ISO-8601 date-time or epoch milliseconds"
        ))
    })
}

impl QueryBody {
    fn into_input(self, params: QueryParams) -> Result<AuditQueryInput, ApiError> {
        Ok(AuditQueryInput {
            start: date("startDate", self.start_date)?,
            end: date("endDate", self.end_date)?,
            platforms: self.platforms.unwrap_or_default(),
            object_types: self.object_types.unwrap_or_default(),
            actions: self.actions.unwrap_or_default(),
            object_ids: self.object_ids.unwrap_or_default(),
            user_ids: self.user_ids.unwrap_or_default(),
            environment_ids: self.environment_ids.unwrap_or_default(),
            organization_id: self.organization_id,
            ascending: self.ascending.unwrap_or(false),
            offset: self.offset.or(params.offset),
            limit: self.limit.or(params.limit),
            cursor: self.cursor.filter(|c| !c.is_empty()),
            cursor_mode: params.cursor_pagination.unwrap_or(false),
            include_total: params.do_include_total.unwrap_or(false),
        })
    }
}

/// Offset mode `{"data", "total"}`; cursor mode `{"data", "cursor"}` with
/// `total` when asked, and `{"data": []}` without a cursor at the end.
fn results_json(results: AuditResults) -> Value {
    let mut out = Map::new();
    let data: Vec<Value> = results.data.iter().map(wire::audit::entry).collect();
    out.insert("data".to_owned(), Value::Array(data));
    if let Some(cursor) = results.cursor {
        out.insert("cursor".to_owned(), Value::String(cursor));
    }
    if let Some(total) = results.total {
        out.insert("total".to_owned(), json!(total));
    }
    Value::Object(out)
}

/// `POST /audit/v2/organizations/{orgId}/query`.
#[utoipa::path(
    post,
    path = "/audit/v2/organizations/{org_id}/query",
    tag = "audit",
    operation_id = "queryAuditLog",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), QueryParams),
    request_body(content = QueryBody, content_type = "application/json"),
    responses(
        (status = 200, description = "One page of the organization's events", body = schema::AuditPage),
        (status = 400, description = "Malformed organization id, or a bad filter, page or cursor", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token", body = crate::openapi::schemas::Error),
        (status = 403, description = "Not an administrator of the organization, no `read:audit_logs` in it, or an organization the caller cannot see", body = crate::openapi::schemas::Error),
        (status = 415, description = "A body that is not JSON", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn query(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
    params: Result<Query<QueryParams>, axum::extract::rejection::QueryRejection>,
    OptionalJson(body): OptionalJson<QueryBody>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|_| {
        ApiError::bad_request(
            "cursorPagination, doIncludeTotal and include_internal must be true or false; \
             limit and offset whole numbers",
        )
    })?;
    let input = body.unwrap_or_default().into_input(params)?;
    let results = state
        .keyhouse
        .query_audit(&principal, OrgId::parse(&org_id)?, input)
        .await
        .map_err(ApiError::scope_forbidden)?;
    Ok(Json(results_json(results)))
}

/// `GET /audit/v2/organizations/{orgId}/platforms` → `{"data": ["Access Management"], "total": 1}`.
#[utoipa::path(
    get,
    path = "/audit/v2/organizations/{org_id}/platforms",
    tag = "audit",
    operation_id = "listAuditPlatforms",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "The platforms whose events can appear", body = schema::AuditPlatforms),
        (status = 400, description = "Malformed organization id", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token", body = crate::openapi::schemas::Error),
        (status = 403, description = "Not an administrator of the organization, no `read:audit_logs` in it, or an organization the caller cannot see", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn platforms(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let list = state
        .keyhouse
        .audit_platforms(&principal, OrgId::parse(&org_id)?)
        .await
        .map_err(ApiError::scope_forbidden)?;
    Ok(Json(json!({"data": list, "total": list.len()})))
}

/// `GET /audit/v2/organizations/{orgId}/retentionSettings` →
/// `{"retentionPeriodDays": N, "editable": false}` (the operator sets it).
#[utoipa::path(
    get,
    path = "/audit/v2/organizations/{org_id}/retentionSettings",
    tag = "audit",
    operation_id = "getAuditRetention",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "How long events are kept", body = schema::AuditRetention),
        (status = 400, description = "Malformed organization id", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token", body = crate::openapi::schemas::Error),
        (status = 403, description = "Not an administrator of the organization, no `read:audit_logs` in it, or an organization the caller cannot see", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn retention(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let days = state
        .keyhouse
        .audit_retention(&principal, OrgId::parse(&org_id)?)
        .await
        .map_err(ApiError::scope_forbidden)?;
    Ok(Json(
        json!({"retentionPeriodDays": days, "editable": false}),
    ))
}
