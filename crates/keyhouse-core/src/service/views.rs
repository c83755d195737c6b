//! Read models returned to the HTTP layer, which turns them into Anypoint JSON.

use crate::access::{Environment, OrgTree, Organization, User};
use crate::ids::OrgId;

/// An organization with what Anypoint's org object embeds.
#[derive(Debug, Clone)]
pub struct OrgDetails {
    pub org: Organization,
    pub environments: Vec<Environment>,
    pub owner: Option<User>,
    pub parent_ids: Vec<OrgId>,
    pub sub_ids: Vec<OrgId>,
    /// Whether the tree's users must use MFA (the policy of its root), for
    /// Anypoint's `mfaRequired`.
    pub mfa_required: bool,
}

/// The org summary used in `memberOfOrganizations` and the hierarchy.
#[derive(Debug, Clone)]
pub struct OrgSummary {
    pub org: Organization,
    pub parent_name: Option<String>,
    pub parent_ids: Vec<OrgId>,
    pub sub_ids: Vec<OrgId>,
    /// Whether the tree's users must use MFA (the policy of its root).
    pub mfa_required: bool,
}

impl OrgSummary {
    /// Summarises `org` using the tree for its relatives; `mfa_required` is
    /// the policy of the tree's root.
    pub fn from_tree(tree: &OrgTree, org: &Organization, mfa_required: bool) -> Self {
        Self {
            mfa_required,
            org: org.clone(),
            parent_name: org
                .parent_id
                .and_then(|p| tree.get(p))
                .map(|p| p.name.clone()),
            parent_ids: tree.ancestors(org.id),
            sub_ids: tree.children(org.id).to_vec(),
        }
    }
}

/// The app behind an app token (`{"client": {…}}` in `/me`).
#[derive(Debug, Clone)]
pub struct AppSummary {
    pub client_id: String,
    pub name: String,
    pub org_id: OrgId,
}

/// `GET /accounts/api/me`: the user (for an app: its owner, Anypoint's
/// `profile` scope), their organization, and where they (or the app) act.
#[derive(Debug, Clone)]
pub struct MeView {
    pub user: User,
    pub organization: OrgDetails,
    pub member_of: Vec<OrgSummary>,
    pub client: Option<AppSummary>,
    /// Whether the user has finished MFA enrollment (`mfaVerifiersConfigured`).
    pub mfa_configured: bool,
}

/// A node of `GET /organizations/{id}/hierarchy`.
#[derive(Debug, Clone)]
pub struct HierarchyNode {
    pub summary: OrgSummary,
    pub children: Vec<HierarchyNode>,
}
