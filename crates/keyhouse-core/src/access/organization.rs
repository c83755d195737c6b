//! Organizations: a root organization and business groups beneath it.

use serde_json::{json, Value};

use crate::error::CoreError;
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// Anypoint bounds for the session timeout (minutes): default 60, min 15, max 180.
pub const SESSION_TIMEOUT_DEFAULT: u32 = 60;
/// Lowest session timeout an organization may set (Anypoint: 15 minutes).
pub const SESSION_TIMEOUT_MIN: u32 = 15;
/// Highest session timeout an organization may set (Anypoint: 180 minutes).
pub const SESSION_TIMEOUT_MAX: u32 = 180;
/// Longest organization name accepted; longer names are a 400, not a truncation.
pub const NAME_MAX_CHARS: usize = 255;

/// A root organization (no parent) or a business group (with a parent).
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    /// Anypoint's 32-hex org `clientId`.
    pub client_id: String,
    pub parent_id: Option<OrgId>,
    /// The root of this organization's tree (itself for a root): lets a whole
    /// tree be read in one query.
    pub root_id: OrgId,
    pub owner_id: UserId,
    /// Login domain (`/accounts/login/{domain}`); only root orgs usually have one.
    pub domain: Option<String>,
    pub session_timeout_minutes: u32,
    /// Free-form entitlements object, kept as the client sent it (Anypoint: open-ended).
    pub entitlements: Value,
    /// Free-form properties object.
    pub properties: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Organization {
    /// True for the root of a tree (Anypoint `isRoot`/`isMaster`).
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }
}

/// Entitlements a new organization gets when the creator sends none.
pub fn default_entitlements() -> Value {
    json!({
        "createEnvironments": true,
        "createSubOrgs": true,
        "globalDeployment": false,
        "vCoresProduction": {"assigned": 0, "reassigned": 0},
        "vCoresSandbox": {"assigned": 0, "reassigned": 0},
        "vCoresDesign": {"assigned": 0, "reassigned": 0},
        "staticIps": {"assigned": 0, "reassigned": 0},
        "vpcs": {"assigned": 0, "reassigned": 0},
        "vpns": {"assigned": 0, "reassigned": 0},
        "loadBalancer": {"assigned": 0, "reassigned": 0},
        "networkConnections": {"assigned": 0, "reassigned": 0}
    })
}

/// Checks an organization or business-group name: trimmed, non-empty, bounded.
pub fn parse_org_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(CoreError::Validation(
            "Organization Name provided is empty".to_owned(),
        ));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(CoreError::Validation(format!(
            "Organization name must be at most {NAME_MAX_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::Validation(
            "Organization name must not contain control characters".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// Checks a session timeout against Anypoint's 15–180 minute range.
pub fn parse_session_timeout(minutes: i64) -> Result<u32, CoreError> {
    if (i64::from(SESSION_TIMEOUT_MIN)..=i64::from(SESSION_TIMEOUT_MAX)).contains(&minutes) {
        Ok(minutes as u32)
    } else {
        Err(CoreError::Validation(format!(
            "sessionTimeout must be between {SESSION_TIMEOUT_MIN} and {SESSION_TIMEOUT_MAX} minutes"
        )))
    }
}

/// Entitlements and properties must be JSON objects (Anypoint stores them as such).
pub fn parse_json_object(field: &str, value: Value) -> Result<Value, CoreError> {
    if value.is_object() {
        Ok(value)
    } else {
        Err(CoreError::Validation(format!(
            "{field} must be a JSON object"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_timeouts_are_checked() {
        assert!(parse_org_name("  ").is_err());
        assert_eq!(
            parse_org_name(" Payments ").ok().as_deref(),
            Some("Payments")
        );
        assert!(parse_org_name(&"x".repeat(256)).is_err());
        assert!(parse_session_timeout(14).is_err());
        assert!(parse_session_timeout(181).is_err());
        assert_eq!(parse_session_timeout(15).ok(), Some(15));
    }
}
