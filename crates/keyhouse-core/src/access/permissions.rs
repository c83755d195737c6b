//! Who may do what: every access decision of the core is made here, in one place.
//!
//! Users: a membership gives its role in that organization; an *admin*
//! membership also covers every business group beneath it (Anypoint: an org
//! administrator manages the org and its business groups).
//!
//! Connected apps: only the scopes granted to the app, as they are now, each
//! bound to exactly one organization (and environment). A scope on a business
//! group does not reach its parent, its siblings or its children.
//!
//! Nothing ever reaches across trees: a token for org A never reaches org B.

use super::connected_app::{ConnectedApp, ScopeGrant};
use super::tree::OrgTree;
use super::user::{Membership, Role, User};
use crate::error::CoreError;
use crate::ids::{EnvId, OrgId, UserId};

/// Operations that need a permission, with the environment where it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewOrganization,
    EditOrganization,
    DeleteOrganization,
    CreateBusinessGroup,
    ListEnvironments,
    ViewEnvironment(EnvId),
    CreateEnvironment,
    EditEnvironment(EnvId),
    ManageConnectedApps,
    /// See an organization's identity providers (admins; apps with
    /// `view:identityproviders` or `manage:identityproviders`).
    ViewIdentityProviders,
    /// Add, change and remove identity providers (admins; apps with
    /// `manage:identityproviders`).
    ManageIdentityProviders,
    /// Read the organization's audit log (Anypoint §8: Organization
    /// Administrators; apps with `read:audit_logs` in that organization).
    ReadAuditLogs,
    /// List and read the users of the organization's tenant (admins; apps with `read:orgusers` or `edit:orgusers`).
    ViewUsers,
    /// Create, change, disable and delete users (admins; apps with `edit:orgusers`).
    ManageUsers,
}

impl Action {
    fn needs_admin(self) -> bool {
        !matches!(
            self,
            Action::ViewOrganization | Action::ListEnvironments | Action::ViewEnvironment(_)
        )
    }

    /// The scopes (any one of them, in `org` and, for env scopes, the environment)
    /// that let an app do this; empty when apps may never do it.
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Action::ViewOrganization => &[
                "view:organization",
                "read:organization",
                "edit:organization",
            ],
            Action::EditOrganization => &["edit:organization"],
            Action::CreateBusinessGroup => &["create:suborgs"],
            Action::ListEnvironments => &[
                "read:orgenvironments",
                "view:environment",
                "edit:environment",
            ],
            Action::ViewEnvironment(_) => &[
                "read:orgenvironments",
                "view:environment",
                "edit:environment",
            ],
            Action::CreateEnvironment => &["create:environment"],
            Action::EditEnvironment(_) => &["edit:environment"],
            Action::ViewIdentityProviders => {
                &["view:identityproviders", "manage:identityproviders"]
            }
            Action::ManageIdentityProviders => &["manage:identityproviders"],
            Action::ReadAuditLogs => &["read:audit_logs"],
            Action::ViewUsers => &["read:orgusers", "edit:orgusers"],
            Action::ManageUsers => &["edit:orgusers"],
            Action::DeleteOrganization | Action::ManageConnectedApps => &[],
        }
    }
}

/// A signed-in person with their memberships.
#[derive(Debug, Clone)]
pub struct UserActor {
    pub user: User,
    pub memberships: Vec<Membership>,
    /// For an app acting on the user's behalf: the granted scopes that the app
    /// still holds now. `None` for the user's own login (their full rights).
    pub delegated_scopes: Option<Vec<String>>,
}

impl UserActor {
    /// True when the token is the user's own, or its scopes include one of `any`.
    pub fn has_scope(&self, any: &[&str]) -> bool {
        match &self.delegated_scopes {
            None => true,
            Some(granted) => granted.iter().any(|g| any.contains(&g.as_str())),
        }
    }
}

/// A connected app acting on its own behalf, with its scopes as they are now.
#[derive(Debug, Clone)]
pub struct AppActor {
    pub app: ConnectedApp,
    pub grants: Vec<ScopeGrant>,
    /// Root of the tree the app's organization belongs to.
    pub root_id: OrgId,
}

/// The subject of every check.
#[derive(Debug, Clone)]
pub enum Actor {
    User(UserActor),
    App(AppActor),
}

impl UserActor {
    /// Delegated tokens: `full` allows whatever the user may do, `read:full` only
    /// what a member may do (reads). Other scopes reach no organization data.
    fn may_by_scope(&self, action: Action) -> bool {
        self.has_scope(&["full"]) || (!action.needs_admin() && self.has_scope(&["read:full"]))
    }

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
}

impl AppActor {
    /// True when one of `scopes` is granted in `org` (and `env`, for environment scopes).
    fn holds(&self, scopes: &[&str], org: OrgId, env: Option<EnvId>) -> bool {
        self.grants.iter().any(|g| {
            scopes.contains(&g.scope.as_str())
                && g.org == Some(org)
                && (g.env.is_none() || env.is_none() || g.env == env)
        })
    }

    /// True when the app holds any scope at all in `org`.
    pub fn acts_in(&self, org: OrgId) -> bool {
        self.app.org_id == org || self.grants.iter().any(|g| g.org == Some(org))
    }
}

impl Actor {
    /// The root organization whose tree the actor lives in.
    pub fn root_id(&self) -> OrgId {
        match self {
            Actor::User(u) => u.user.org_id,
            Actor::App(a) => a.root_id,
        }
    }

    /// The user on whose behalf changes are recorded: the person, or the app's owner.
    pub fn acting_user_id(&self) -> UserId {
        match self {
            Actor::User(u) => u.user.id,
            Actor::App(a) => a.app.owner_user_id,
        }
    }

    /// Allows or refuses `action` on `org`. Unknown and foreign organizations get
    /// the same refusal, so ids of other tenants cannot be probed; an app missing
    /// a scope is told which one (RFC 6750 `insufficient_scope`).
    pub fn check(&self, tree: &OrgTree, org: OrgId, action: Action) -> Result<(), CoreError> {
        match tree.get(org) {
            Some(o) if o.root_id == self.root_id() => {}
            _ => return Err(no_access(org)),
        }
        match self {
            Actor::User(user) if !user.may_by_scope(action) => Err(CoreError::InsufficientScope(
                if action.needs_admin() {
                    "full"
                } else {
                    "read:full"
                }
                .to_owned(),
            )),
            Actor::User(user) => match user.role_in(tree, org) {
                Some(Role::Admin) => Ok(()),
                Some(Role::Member) if !action.needs_admin() => Ok(()),
                Some(Role::Member) => Err(CoreError::Forbidden(
                    "You need the Organization Administrator permission for this action".to_owned(),
                )),
                None => Err(no_access(org)),
            },
            Actor::App(app) => {
                let env = match action {
                    Action::ViewEnvironment(e) | Action::EditEnvironment(e) => Some(e),
                    _ => None,
                };
                let scopes = action.scopes();
                if app.holds(scopes, org, env) {
                    Ok(())
                } else if scopes.is_empty() {
                    Err(CoreError::Forbidden(
                        "This action needs a user's token; connected apps cannot perform it"
                            .to_owned(),
                    ))
                } else {
                    Err(CoreError::InsufficientScope(scopes[0].to_owned()))
                }
            }
        }
    }

    /// Whether a listed environment is shown: users see every environment of an
    /// org they may list; apps see the environments their scopes name.
    pub fn sees_environment(&self, org: OrgId, env: EnvId) -> bool {
        match self {
            Actor::User(_) => true,
            Actor::App(app) => {
                app.holds(&["read:orgenvironments"], org, None)
                    || app.grants.iter().any(|g| {
                        matches!(g.scope.as_str(), "view:environment" | "edit:environment")
                            && g.org == Some(org)
                            && g.env == Some(env)
                    })
            }
        }
    }

    /// The organizations of the tree this actor can see, parents before children.
    pub fn visible_orgs<'t>(&self, tree: &'t OrgTree) -> Vec<&'t super::Organization> {
        tree.all_in_order()
            .into_iter()
            .filter(|o| match self {
                Actor::User(u) => u.role_in(tree, o.id).is_some(),
                Actor::App(a) => o.root_id == a.root_id && a.acts_in(o.id),
            })
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
    use crate::access::connected_app::{Audience, GrantType, SecretHash};
    use crate::access::organization::{default_entitlements, Organization};
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

    fn user(root: OrgId, memberships: &[(OrgId, Role)]) -> Actor {
        let id = UserId::generate();
        Actor::User(UserActor {
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
            delegated_scopes: None,
        })
    }

    fn app(root: OrgId, grants: Vec<ScopeGrant>) -> Actor {
        Actor::App(AppActor {
            app: ConnectedApp {
                client_id: "c".into(),
                secret_hash: SecretHash([0; 32]),
                name: "app".into(),
                org_id: root,
                owner_user_id: UserId::generate(),
                grant_types: vec![GrantType::ClientCredentials],
                redirect_uris: vec![],
                public_keys: vec![],
                scopes: vec![],
                audience: Audience::Internal,
                client_uri: None,
                policy_uri: None,
                enabled: true,
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                secret_updated_at: Timestamp(0),
                public_client: false,
            },
            grants,
            root_id: root,
        })
    }

    #[test]
    fn admin_flows_down_member_does_not() {
        let (r, bg, sub) = (OrgId::generate(), OrgId::generate(), OrgId::generate());
        let tree = OrgTree::new(vec![
            org(r, None, r),
            org(bg, Some(r), r),
            org(sub, Some(bg), r),
        ]);
        let admin_of_bg = user(r, &[(bg, Role::Admin)]);
        assert!(admin_of_bg
            .check(&tree, sub, Action::EditOrganization)
            .is_ok());
        assert!(admin_of_bg
            .check(&tree, r, Action::ViewOrganization)
            .is_err());
        let member = user(r, &[(r, Role::Member)]);
        assert!(member.check(&tree, r, Action::ListEnvironments).is_ok());
        assert!(member.check(&tree, r, Action::CreateEnvironment).is_err());
        assert!(member.check(&tree, bg, Action::ViewOrganization).is_err());
        let stranger = user(OrgId::generate(), &[(r, Role::Admin)]);
        assert!(stranger.check(&tree, r, Action::ViewOrganization).is_err());
    }

    #[test]
    fn app_scopes_bind_to_one_org_and_env() {
        let (r, bg, sub) = (OrgId::generate(), OrgId::generate(), OrgId::generate());
        let tree = OrgTree::new(vec![
            org(r, None, r),
            org(bg, Some(r), r),
            org(sub, Some(bg), r),
        ]);
        let (env, other_env) = (EnvId::generate(), EnvId::generate());
        let grant = |scope: &str, org: OrgId, env: Option<EnvId>| ScopeGrant {
            scope: scope.into(),
            org: Some(org),
            env,
        };
        let a = app(
            r,
            vec![
                grant("view:environment", bg, Some(env)),
                grant("create:environment", bg, None),
            ],
        );
        assert!(a.check(&tree, bg, Action::ListEnvironments).is_ok());
        assert!(a.check(&tree, bg, Action::ViewEnvironment(env)).is_ok());
        assert!(matches!(
            a.check(&tree, bg, Action::ViewEnvironment(other_env)),
            Err(CoreError::InsufficientScope(_))
        ));
        assert!(a.check(&tree, bg, Action::CreateEnvironment).is_ok());
        for elsewhere in [r, sub] {
            assert!(matches!(
                a.check(&tree, elsewhere, Action::ListEnvironments),
                Err(CoreError::InsufficientScope(_))
            ));
        }
        assert!(matches!(
            a.check(&tree, bg, Action::ManageConnectedApps),
            Err(CoreError::Forbidden(_))
        ));
        assert!(a.sees_environment(bg, env));
        assert!(!a.sees_environment(bg, other_env));
        let names: Vec<OrgId> = a.visible_orgs(&tree).iter().map(|o| o.id).collect();
        assert_eq!(names, vec![r, bg]);
    }

    #[test]
    fn delegated_tokens_are_bounded_by_their_scopes() {
        let r = OrgId::generate();
        let tree = OrgTree::new(vec![org(r, None, r)]);
        let with_scopes = |scopes: &[&str]| match user(r, &[(r, Role::Admin)]) {
            Actor::User(mut u) => {
                u.delegated_scopes = Some(scopes.iter().map(|s| s.to_string()).collect());
                Actor::User(u)
            }
            other => other,
        };
        let full = with_scopes(&["openid", "full"]);
        assert!(full.check(&tree, r, Action::CreateEnvironment).is_ok());
        let read = with_scopes(&["read:full"]);
        assert!(read.check(&tree, r, Action::ListEnvironments).is_ok());
        assert!(matches!(
            read.check(&tree, r, Action::CreateEnvironment),
            Err(CoreError::InsufficientScope(s)) if s == "full"
        ));
        let profile = with_scopes(&["openid", "profile"]);
        assert!(matches!(
            profile.check(&tree, r, Action::ListEnvironments),
            Err(CoreError::InsufficientScope(_))
        ));
    }
}
