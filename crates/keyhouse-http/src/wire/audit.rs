//! The audit entry object of Anypoint's Audit Log Query API (reference §8),
//! shared by `POST /audit/v2/organizations/{orgId}/query` and the JSON lines
//! of `keyhouse audit export`, so both always carry the same fields.

use keyhouse_core::audit::AuditEvent;
use keyhouse_core::audit_query::PLATFORM;
use serde_json::{json, Value};

/// One entry: `id`, `timestamp` (ISO-8601, milliseconds, `Z`),
/// `organizationId`, `userId`, `clientId` (the connected app that acted),
/// `platform`, `objectType`, `objectId`, `action`, `success`,
/// `sourceAddress` and `payload` (the event's details). Absent facts are `null`.
pub fn entry(event: &AuditEvent) -> Value {
    json!({
        "id": event.id.to_string(),
        "timestamp": event.at.to_iso(),
        "organizationId": event.org_id.map(|o| o.to_string()),
        "userId": event.actor_user_id.map(|u| u.to_string()),
        "clientId": event.actor_client_id,
        "platform": PLATFORM,
        "objectType": event.object_type,
        "objectId": event.object_id,
        "action": event.action,
        "success": event.success,
        "sourceAddress": event.source,
        "payload": event.detail,
    })
}
