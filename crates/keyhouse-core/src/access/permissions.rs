//! Who may do what: every access decision of the core is made here, in one place.
//!
//! Rule: a membership gives its role in that organization; an *admin*
//! membership also covers every business group beneath it (Anypoint: an org
//! administrator manages the org and its business groups). Nothing ever
//! reaches across trees, so a token for org A never reaches org B.

use super::tree::OrgTree;
use super::user::{Membership, Role, User};
use crate::error::CoreError;
use crate::ids::OrgId;

/// Operations on an organization that need a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewOrganization,
    EditOrganization,
    DeleteOrganization,
    CreateBusinessGroup,
    ViewEnvironments,
    ManageEnvironments,
}

impl Action {
    fn needs_admin(self) -> bool {
        !matches!(self, Action::ViewOrganization | Action::ViewEnvironments)
    }
}

/// The authenticated user with their memberships: the subject of every check.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub memberships: Vec<Membership>,
}

impl Actor {
    /// The user's effective role in `org`, from a direct membership or an admin ancestor.
    pub fn role_in(&self, tree: &OrgTree, org: OrgId) -> Option<Role> {
        let org_data = tree.get(org)?;
        if org_data.root_id != self.user.org_id {
            return None;
        }
        let direct = self
            .memberships
            .iter()
            .find(|m| m.org_id == org)
            .map(|m| m.role);
        if direct == Some(Role::Admin) {
            return Some(Role::Admin);
        }
        let admin_above = tree.ancestors(org).into_iter().any(|a| {
            self.memberships
                .iter()
                .any(|m| m.org_id == a && m.role == Role::Admin)
        });
        if admin_above {
            Some(Role::Admin)
        } else {
            direct
        }
    }

    /// Allows or refuses `action` on `org`. Unknown and foreign organizations get the
    /// same refusal, so ids of other tenants cannot be probed.
    pub fn check(&self, tree: &OrgTree, org: OrgId, action: Action) -> Result<(), CoreError> {
        match self.role_in(tree, org) {
            Some(Role::Admin) => Ok(()),
            Some(Role::Member) if !action.needs_admin() => Ok(()),
            Some(Role::Member) => Err(CoreError::Forbidden(
                "You need the Organization Administrator permission for this action".to_owned(),
            )),
            None => Err(no_access(org)),
        }
    }

    /// The organizations of the tree this user can see, parents before children.
    pub fn visible_orgs<'t>(&self, tree: &'t OrgTree) -> Vec<&'t super::Organization> {
        tree.all_in_order()
            .into_iter()
            .filter(|o| self.role_in(tree, o.id).is_some())
            .collect()
    }
}

/// The refusal for an organization the caller cannot see (whether or not it exists).
pub fn no_access(org: OrgId) -> CoreError {
    CoreError::Forbidden(format!("You do not have access to organization {org}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::organization::{default_entitlements, Organization};
    use crate::ids::UserId;
    use crate::time_fmt::Timestamp;

    fn org(id: OrgId, parent: Option<OrgId>, root: OrgId) -> Organization {
        Organization {
            id,
            name: "o".into(),
            client_id: String::new(),
            parent_id: parent,
            root_id: root,
            owner_id: UserId::generate(),
            domain: None,
            session_timeout_minutes: 60,
            entitlements: default_entitlements(),
            properties: serde_json::json!({}),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn actor(root: OrgId, memberships: &[(OrgId, Role)]) -> Actor {
        let id = UserId::generate();
        Actor {
            user: User {
                id,
                org_id: root,
                username: "u".into(),
                first_name: String::new(),
                last_name: String::new(),
                email: String::new(),
                phone_number: None,
                password_hash: None,
                enabled: true,
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                last_login: None,
            },
            memberships: memberships
                .iter()
                .map(|(o, r)| Membership {
                    user_id: id,
                    org_id: *o,
                    role: *r,
                })
                .collect(),
        }
    }

    #[test]
    fn admin_flows_down_member_does_not() {
        let (r, bg, sub) = (OrgId::generate(), OrgId::generate(), OrgId::generate());
        let tree = OrgTree::new(vec![
            org(r, None, r),
            org(bg, Some(r), r),
            org(sub, Some(bg), r),
        ]);
        let admin_of_bg = actor(r, &[(bg, Role::Admin)]);
        assert!(admin_of_bg
            .check(&tree, sub, Action::EditOrganization)
            .is_ok());
        assert!(admin_of_bg
            .check(&tree, r, Action::ViewOrganization)
            .is_err());
        let member = actor(r, &[(r, Role::Member)]);
        assert!(member.check(&tree, r, Action::ViewEnvironments).is_ok());
        assert!(member.check(&tree, r, Action::ManageEnvironments).is_err());
        assert!(member.check(&tree, bg, Action::ViewOrganization).is_err());
        let stranger = actor(OrgId::generate(), &[(r, Role::Admin)]);
        assert!(stranger.check(&tree, r, Action::ViewOrganization).is_err());
    }
}
