//! The scope catalogue (Anypoint reference §6): every scope Keyhouse knows,
//! its display name, and the context it must be granted in.

/// The context a scope is granted in (Anypoint `context_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeContext {
    /// No context: `context_params` is `{}` (e.g. `profile`, `openid`).
    Global,
    /// `{"org": …}`: one organization or business group.
    Org,
    /// `{"org": …, "envId": …}`: one environment of one organization.
    OrgEnv,
}

impl ScopeContext {
    /// The wire name used by `GET /accounts/api/cs/scopes`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeContext::Global => "none",
            ScopeContext::Org => "org",
            ScopeContext::OrgEnv => "org_env",
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeInfo {
    pub name: &'static str,
    pub display_name: &'static str,
    pub context: ScopeContext,
}

use ScopeContext::{Global, Org, OrgEnv};

macro_rules! scopes {
    ($(($name:literal, $display:literal, $ctx:expr)),* $(,)?) => {
        &[$(ScopeInfo { name: $name, display_name: $display, context: $ctx }),*]
    };
}

/// Every known scope. Access-management scopes are enforced by Keyhouse's own
/// endpoints; the others are granted, stored and reported (introspection) for
/// the APIs that teams protect with Keyhouse.
pub static CATALOGUE: &[ScopeInfo] = scopes![
    ("openid", "OpenID (username and id)", Global),
    ("profile", "Profile", Global),
    ("email", "Email address", Global),
    ("offline_access", "Offline access (refresh tokens)", Global),
    ("full", "Full access (everything the user can do)", Global),
    (
        "read:full",
        "Read-only access (everything the user can read)",
        Global
    ),
    ("admin:access_controls", "Access Controls Admin", Org),
    ("view:access_controls", "Access Controls Viewer", Org),
    ("view:organization", "View Organization", Org),
    ("read:organization", "View Organization", Org),
    ("edit:organization", "Edit Organization", Org),
    ("create:suborgs", "Create Business Groups", Org),
    ("create:environment", "Create Environment", Org),
    (
        "read:orgenvironments",
        "View Environments in an organization",
        Org
    ),
    ("view:environment", "View Environment", OrgEnv),
    ("edit:environment", "Edit Environment", OrgEnv),
    ("read:orgusers", "View Users", Org),
    ("edit:orgusers", "Edit Users", Org),
    ("read:orgconnapps", "View Connected Applications", Org),
    ("read:audit_logs", "Audit Log Viewer", Org),
    ("write:audit_log_settings", "Audit Log Config Manager", Org),
    ("view:identityproviders", "View Identity Providers", Org),
    ("manage:identityproviders", "Manage Identity Providers", Org),
    ("view:metering", "Usage Viewer", Org),
    ("admin:cloudhub", "CloudHub Organization Admin", Org),
    ("read:applications", "Read Applications", OrgEnv),
    ("create:applications", "Create Applications", OrgEnv),
    ("delete:applications", "Delete Applications", OrgEnv),
    ("read:servers", "Read Servers", OrgEnv),
    ("manage:servers", "Manage Servers", OrgEnv),
    ("read:runtime_fabrics", "Read Runtime Fabrics", Org),
    ("manage:runtime_fabrics", "Manage Runtime Fabrics", Org),
    ("admin:api_manager", "API Manager Admin", Org),
    (
        "manage:apis",
        "API Manager Environment Administrator",
        OrgEnv
    ),
    ("read:api_configuration", "View API Configuration", OrgEnv),
    (
        "manage:api_configuration",
        "Manage API Configuration",
        OrgEnv
    ),
    ("read:api_policies", "View Policies", OrgEnv),
    ("manage:api_policies", "Manage Policies", OrgEnv),
    ("read:api_contracts", "View Contracts", OrgEnv),
    ("manage:api_contracts", "Manage Contracts", OrgEnv),
    ("manage:api_groups", "Manage API Groups", Org),
    ("read:client_applications", "View Client Applications", Org),
    ("manage:clients", "Manage Clients", OrgEnv),
    ("read:exchange", "Exchange Viewer", Org),
    ("edit:exchange", "Exchange Contributor", Org),
    ("create:exchange", "Exchange Creator", Org),
    ("admin:exchange", "Exchange Administrator", Org),
    ("manage:exchange", "Exchange Administrator", Org),
    ("read:maven_repository", "Maven Repository Reader", Org),
    ("view:design_center", "Design Center Viewer", Org),
    ("edit:design_center", "Design Center Developer", Org),
    ("view:destinations", "View Destinations", OrgEnv),
    ("administer:destinations", "Administer Destinations", OrgEnv),
    ("publish:destinations", "Publish to Destinations", OrgEnv),
    (
        "subscribe:destinations",
        "Subscribe to Destinations",
        OrgEnv
    ),
    ("read:secrets", "Read Secrets", OrgEnv),
    ("manage:secrets", "Manage Secrets", OrgEnv),
    ("manage:secret_groups", "Manage Secret Groups", OrgEnv),
    ("view:monitoring", "Monitoring Viewer", OrgEnv),
    ("edit:monitoring", "Monitoring Editor", OrgEnv),
];

/// The scopes a request names (space-separated, RFC 6749 §3.3), in order and
/// without repeats, when `allowed` admits each; `Err` names the first it does
/// not. One rule for the authorization request, the user grants and refresh.
pub fn requested_subset(raw: &str, allowed: impl Fn(&str) -> bool) -> Result<Vec<String>, &str> {
    let mut out: Vec<String> = Vec::new();
    for wanted in raw.split(' ').filter(|s| !s.is_empty()) {
        if !allowed(wanted) {
            return Err(wanted);
        }
        if !out.iter().any(|o| o == wanted) {
            out.push(wanted.to_owned());
        }
    }
    Ok(out)
}
/// The catalogue entry for `name`, if Keyhouse knows the scope.
pub fn lookup(name: &str) -> Option<&'static ScopeInfo> {
    CATALOGUE.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
        assert_eq!(lookup("view:environment").map(|s| s.context), Some(OrgEnv));
        assert_eq!(lookup("profile").map(|s| s.context), Some(Global));
        assert!(lookup("nope").is_none());
    }
}
