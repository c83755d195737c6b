//! Organizations and business groups: `/me`, org details, create, update,
//! delete and the hierarchy.

use std::sync::Arc;

use serde_json::Value;

use super::bootstrap::new_environment;
use super::views::{AppSummary, HierarchyNode, MeView, OrgDetails, OrgSummary};
use super::{Keyhouse, Principal};
use crate::access::environment::EnvType;
use crate::access::organization::{
    default_entitlements, parse_json_object, parse_org_name, parse_session_timeout,
};
use crate::access::{Action, Actor, OrgTree, Organization};
use crate::error::{CoreError, CoreResult};
use crate::ids::{generate_client_id, OrgId, UserId};
use crate::time_fmt::Timestamp;

/// `POST /accounts/api/organizations`.
#[derive(Debug, Clone)]
pub struct NewBusinessGroup {
    pub name: String,
    pub parent_id: OrgId,
    /// Defaults to the caller.
    pub owner_id: Option<UserId>,
    pub entitlements: Option<Value>,
}

/// `PUT /accounts/api/organizations/{id}`: fields left `None` keep their value.
#[derive(Debug, Clone, Default)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub owner_id: Option<UserId>,
    pub session_timeout: Option<i64>,
    pub entitlements: Option<Value>,
    pub properties: Option<Value>,
    /// Immutable: accepted only when equal to the current parent.
    pub parent_id: Option<OrgId>,
}

impl Keyhouse {
    /// `GET /accounts/api/me`: the user, their root organization in full, and every
    /// organization they can see. For an app token: the app, its owner (Anypoint's
    /// implicit `profile` scope) and the organizations the app holds scopes in.
    pub async fn me(&self, principal: &Principal) -> CoreResult<MeView> {
        let actor = self.actor(principal).await?;
        if let Actor::User(u) = &actor {
            if !u.has_scope(&["profile", "full", "read:full"]) {
                return Err(CoreError::InsufficientScope("profile".to_owned()));
            }
        }
        let tree = self.load_tree(actor.root_id()).await?;
        let (user, client) = match &actor {
            Actor::User(u) => (u.user.clone(), None),
            Actor::App(a) => {
                let owner = self.load_user(a.app.owner_user_id).await?.ok_or_else(|| {
                    CoreError::NotFound("The app's owner no longer exists".to_owned())
                })?;
                let client = AppSummary {
                    client_id: a.app.client_id.clone(),
                    name: a.app.name.clone(),
                    org_id: a.app.org_id,
                };
                (owner, Some(client))
            }
        };
        let home = match &actor {
            Actor::User(u) => u.user.org_id,
            Actor::App(a) => a.app.org_id,
        };
        let organization = tree
            .get(home)
            .cloned()
            .ok_or_else(|| CoreError::Internal("caller's organization missing".to_owned()))?;
        let organization = self.details(&tree, organization).await?;
        let member_of = actor
            .visible_orgs(&tree)
            .into_iter()
            .map(|o| OrgSummary::from_tree(&tree, o, organization.mfa_required))
            .collect();
        let mfa_configured = self.mfa_configured(user.id).await?;
        Ok(MeView {
            user,
            organization,
            member_of,
            client,
            mfa_configured,
        })
    }

    /// `GET /accounts/api/organizations/{id}`.
    pub async fn organization(&self, principal: &Principal, id: OrgId) -> CoreResult<OrgDetails> {
        let (_, tree, org) = self
            .authorize(principal, id, Action::ViewOrganization)
            .await?;
        self.details(&tree, org).await
    }

    /// `POST /accounts/api/organizations`: a business group under a parent the caller
    /// administers, created with a `Sandbox` and a `Design` environment.
    pub async fn create_business_group(
        &self,
        principal: &Principal,
        new: NewBusinessGroup,
    ) -> CoreResult<OrgDetails> {
        let (actor, tree, parent) = self
            .authorize(principal, new.parent_id, Action::CreateBusinessGroup)
            .await?;
        let name = parse_org_name(&new.name)?;
        let owner_id = match new.owner_id {
            Some(owner) => self.owner_in_tree(parent.root_id, owner).await?,
            None => actor.acting_user_id(),
        };
        let entitlements = match new.entitlements {
            Some(v) => parse_json_object("entitlements", v)?,
            None => default_entitlements(),
        };
        let now = self.clock.now();
        let id = OrgId::generate();
        let org = Organization {
            id,
            name,
            client_id: generate_client_id(),
            parent_id: Some(parent.id),
            root_id: parent.root_id,
            owner_id,
            domain: None,
            session_timeout_minutes: parent.session_timeout_minutes,
            entitlements,
            properties: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        };
        let envs = [
            new_environment(id, "Sandbox", EnvType::Sandbox, now),
            new_environment(id, "Design", EnvType::Design, Timestamp(now.0 + 1)),
        ];
        let event = self
            .change_event(
                &actor,
                principal,
                parent.id,
                "organization.created",
                "organization",
                id.to_string(),
            )
            .with("name", org.name.as_str())
            .with("parentId", parent.id.to_string());
        self.store
            .insert_business_group_audited(&org, &envs, &[event])
            .await?;
        self.directory.clear();
        let mut orgs: Vec<Organization> = tree.all_in_order().into_iter().cloned().collect();
        orgs.push(org.clone());
        self.details(&OrgTree::new(orgs), org).await
    }

    /// `PUT /accounts/api/organizations/{id}`: all checks pass before anything is written.
    pub async fn update_organization(
        &self,
        principal: &Principal,
        id: OrgId,
        update: OrgUpdate,
    ) -> CoreResult<OrgDetails> {
        let (actor, tree, mut org) = self
            .authorize(principal, id, Action::EditOrganization)
            .await?;
        let fields: Vec<&str> = [
            ("name", update.name.is_some()),
            ("ownerId", update.owner_id.is_some()),
            ("sessionTimeout", update.session_timeout.is_some()),
            ("entitlements", update.entitlements.is_some()),
            ("properties", update.properties.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, sent)| sent.then_some(name))
        .collect();
        if let Some(parent) = update.parent_id {
            if Some(parent) != org.parent_id {
                return Err(CoreError::Validation(
                    "parentOrganizationId cannot be changed".to_owned(),
                ));
            }
        }
        if let Some(name) = update.name {
            org.name = parse_org_name(&name)?;
        }
        if let Some(owner) = update.owner_id {
            org.owner_id = self.owner_in_tree(org.root_id, owner).await?;
        }
        if let Some(minutes) = update.session_timeout {
            org.session_timeout_minutes = parse_session_timeout(minutes)?;
        }
        if let Some(v) = update.entitlements {
            org.entitlements = parse_json_object("entitlements", v)?;
        }
        if let Some(v) = update.properties {
            org.properties = parse_json_object("properties", v)?;
        }
        org.updated_at = self.clock.now();
        let event = self
            .change_event(
                &actor,
                principal,
                id,
                "organization.updated",
                "organization",
                id.to_string(),
            )
            .with("name", org.name.as_str())
            .with("fields", fields);
        self.store.update_organization(&org, &[event]).await?;
        self.directory.clear();
        self.details(&tree, org).await
    }

    /// `DELETE /accounts/api/organizations/{id}`: business groups without children only.
    pub async fn delete_organization(&self, principal: &Principal, id: OrgId) -> CoreResult<()> {
        let (actor, tree, org) = self
            .authorize(principal, id, Action::DeleteOrganization)
            .await?;
        let Some(parent) = org.parent_id else {
            return Err(CoreError::Validation(
                "The root organization cannot be deleted".to_owned(),
            ));
        };
        if !tree.children(id).is_empty() {
            return Err(CoreError::Validation(
                "Delete the business groups under this one first".to_owned(),
            ));
        }
        // Recorded in the parent's log: the group's own log cannot be queried
        // once the group is gone.
        let event = self
            .change_event(
                &actor,
                principal,
                parent,
                "organization.deleted",
                "organization",
                id.to_string(),
            )
            .with("name", org.name.as_str());
        self.store.delete_organization(id, &[event]).await?;
        self.directory.clear();
        Ok(())
    }

    /// `GET /accounts/api/organizations/{id}/hierarchy`: the org and the part of its
    /// subtree the caller may see.
    pub async fn hierarchy(&self, principal: &Principal, id: OrgId) -> CoreResult<HierarchyNode> {
        let (actor, tree, org) = self
            .authorize(principal, id, Action::ViewOrganization)
            .await?;
        let visible: Vec<OrgId> = actor.visible_orgs(&tree).iter().map(|o| o.id).collect();
        let mfa_required = self.tree_requires_mfa(org.root_id).await?;
        Ok(build_node(&visible, &tree, &org, mfa_required))
    }

    /// Loads the caller, the tree of `org`, and checks `action` on it.
    pub(super) async fn authorize(
        &self,
        principal: &Principal,
        org: OrgId,
        action: Action,
    ) -> CoreResult<(Actor, Arc<OrgTree>, Organization)> {
        let actor = self.actor(principal).await?;
        let tree = self.tree_of(&actor, org).await?;
        actor.check(&tree, org, action)?;
        let found = tree
            .get(org)
            .cloned()
            .ok_or_else(|| crate::access::permissions::no_access(org))?;
        Ok((actor, tree, found))
    }

    async fn owner_in_tree(&self, root: OrgId, owner: UserId) -> CoreResult<UserId> {
        match self.store.find_user(owner).await? {
            Some(u) if u.org_id == root => Ok(u.id),
            _ => Err(CoreError::Validation(format!(
                "ownerId {owner} is not a user of this organization"
            ))),
        }
    }

    async fn details(&self, tree: &OrgTree, org: Organization) -> CoreResult<OrgDetails> {
        let environments = self.load_environments(org.id).await?.as_ref().clone();
        let owner = self.load_user(org.owner_id).await?;
        let mfa_required = self.tree_requires_mfa(org.root_id).await?;
        Ok(OrgDetails {
            mfa_required,
            parent_ids: tree.ancestors(org.id),
            sub_ids: tree.children(org.id).to_vec(),
            org,
            environments,
            owner,
        })
    }
}

fn build_node(
    visible: &[OrgId],
    tree: &OrgTree,
    org: &Organization,
    mfa_required: bool,
) -> HierarchyNode {
    let children = tree
        .children(org.id)
        .iter()
        .filter(|id| visible.contains(id))
        .filter_map(|id| tree.get(*id))
        .map(|child| build_node(visible, tree, child, mfa_required))
        .collect();
    HierarchyNode {
        summary: OrgSummary::from_tree(tree, org, mfa_required),
        children,
    }
}
