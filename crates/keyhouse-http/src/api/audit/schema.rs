//! OpenAPI schemas of the audit API's answers. The handlers build them as
//! JSON values (`crate::wire::audit`); these structs describe those shapes
//! field for field and are never built.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One audit event (docs/audit.md, "Entry").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The event's id (UUID).
    id: String,
    /// ISO-8601 UTC with milliseconds, e.g. `2025-03-01T12:34:56.789Z`.
    timestamp: String,
    /// The organization whose log holds the event.
    organization_id: String,
    /// The acting user (or the user an app acted for); null for an app on its own.
    user_id: Option<String>,
    /// The connected app that acted; null for a user's own token.
    client_id: Option<String>,
    /// Always `Access Management`.
    platform: String,
    /// e.g. `connected_app`, `environment`, `organization`, `user`.
    object_type: String,
    /// The id of the object acted upon.
    object_id: Option<String>,
    /// e.g. `connected_app.created`, `user.login`.
    action: String,
    /// False for a refused attempt.
    success: bool,
    /// The client's IP address as the server saw it.
    source_address: Option<String>,
    /// Facts about the event (never a secret).
    payload: Value,
}

/// `{"data", "total"}` (offset mode) or `{"data", "cursor", "total"?}` (cursor mode).
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    data: Vec<AuditEntry>,
    /// Events matching the filters; always in offset mode, with `doIncludeTotal=true` in cursor mode.
    total: Option<u64>,
    /// Cursor mode: send back for the next page; absent once `data` is empty.
    cursor: Option<String>,
}

/// `{"data": ["Access Management"], "total": 1}`.
#[derive(Serialize, ToSchema)]
pub struct AuditPlatforms {
    data: Vec<String>,
    total: u64,
}

/// The server's audit retention (Keyhouse's own shape).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRetention {
    /// Days events are kept (`audit_retention_days`).
    retention_period_days: i64,
    /// Always false: the operator sets retention for the whole server.
    editable: bool,
}
