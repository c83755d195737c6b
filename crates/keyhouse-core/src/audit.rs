//! Audit events: who did what to which object, when, from where, with what
//! result. Written by the core next to the change they describe; queried by
//! the audit API (console issue).

use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// One recorded event. `action` and `object_type` are stable lower-case names
/// (e.g. `token.issued` / `connected_app`), `detail` is a small JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub at: Timestamp,
    /// The organization the event belongs to (for filtering by tenant).
    pub org_id: Option<OrgId>,
    pub actor_user_id: Option<UserId>,
    pub actor_client_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// Source IP address of the request, when known.
    pub source: Option<String>,
    /// True for a success, false for a refused attempt.
    pub success: bool,
    /// Extra facts as a JSON object (never a secret).
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// A successful event at `at`; refine it with the builder methods.
    pub fn new(at: Timestamp, action: &str, object_type: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4(),
            at,
            org_id: None,
            actor_user_id: None,
            actor_client_id: None,
            action: action.to_owned(),
            object_type: object_type.to_owned(),
            object_id: None,
            source: None,
            success: true,
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// The tenant the event belongs to.
    pub fn org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org);
        self
    }

    /// The person who acted (or on whose behalf an app acted).
    pub fn user(mut self, user: UserId) -> Self {
        self.actor_user_id = Some(user);
        self
    }

    /// The connected app that acted.
    pub fn client(mut self, client_id: &str) -> Self {
        self.actor_client_id = Some(client_id.to_owned());
        self
    }

    /// The object acted upon.
    pub fn object(mut self, id: impl Into<String>) -> Self {
        self.object_id = Some(id.into());
        self
    }

    /// Where the request came from.
    pub fn source(mut self, source: Option<std::net::IpAddr>) -> Self {
        self.source = source.map(|ip| ip.to_string());
        self
    }

    /// Marks the event as a refused attempt.
    pub fn failed(mut self) -> Self {
        self.success = false;
        self
    }

    /// Adds one fact to `detail` (never pass a secret).
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let serde_json::Value::Object(map) = &mut self.detail {
            map.insert(key.to_owned(), value.into());
        }
        self
    }
}
