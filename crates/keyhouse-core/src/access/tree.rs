//! One organization tree (a root and all its business groups), loaded at once
//! so parent/child questions need no further storage round trips.

use std::collections::HashMap;

use super::organization::Organization;
use crate::ids::OrgId;

/// All organizations that share one root, indexed for tree queries.
#[derive(Debug, Clone)]
pub struct OrgTree {
    orgs: HashMap<OrgId, Organization>,
    children: HashMap<OrgId, Vec<OrgId>>,
}

impl OrgTree {
    /// Indexes the organizations of one tree; children keep creation order.
    pub fn new(mut orgs: Vec<Organization>) -> Self {
        orgs.sort_by_key(|a| (a.created_at, a.id));
        let mut children: HashMap<OrgId, Vec<OrgId>> = HashMap::new();
        for org in &orgs {
            if let Some(parent) = org.parent_id {
                children.entry(parent).or_default().push(org.id);
            }
        }
        Self {
            orgs: orgs.into_iter().map(|o| (o.id, o)).collect(),
            children,
        }
    }

    /// The organization with this id, if it is in the tree.
    pub fn get(&self, id: OrgId) -> Option<&Organization> {
        self.orgs.get(&id)
    }

    /// Direct children (Anypoint `subOrganizationIds`).
    pub fn children(&self, id: OrgId) -> &[OrgId] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Ancestors from the root down to the parent (Anypoint `parentOrganizationIds`).
    pub fn ancestors(&self, id: OrgId) -> Vec<OrgId> {
        let mut path = Vec::new();
        let mut current = self.get(id).and_then(|o| o.parent_id);
        while let Some(parent) = current {
            if path.contains(&parent) {
                break; // defensive: a cycle in stored data must not loop forever
            }
            path.push(parent);
            current = self.get(parent).and_then(|o| o.parent_id);
        }
        path.reverse();
        path
    }

    /// The organization and all its descendants, parents before children.
    pub fn subtree(&self, id: OrgId) -> Vec<OrgId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            if out.contains(&next) {
                continue;
            }
            out.push(next);
            stack.extend(self.children(next).iter().rev());
        }
        out
    }

    /// Every organization in the tree, parents before children.
    pub fn all_in_order(&self) -> Vec<&Organization> {
        let roots: Vec<OrgId> = self
            .orgs
            .values()
            .filter(|o| o.parent_id.is_none())
            .map(|o| o.id)
            .collect();
        roots
            .into_iter()
            .flat_map(|r| self.subtree(r))
            .filter_map(|id| self.get(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::organization::default_entitlements;
    use crate::ids::UserId;
    use crate::time_fmt::Timestamp;

    fn org(id: OrgId, parent: Option<OrgId>, root: OrgId, t: i64) -> Organization {
        Organization {
            id,
            name: id.to_string(),
            client_id: String::new(),
            parent_id: parent,
            root_id: root,
            owner_id: UserId::generate(),
            domain: None,
            session_timeout_minutes: 60,
            entitlements: default_entitlements(),
            properties: serde_json::json!({}),
            created_at: Timestamp(t),
            updated_at: Timestamp(t),
        }
    }

    #[test]
    fn ancestors_children_subtree() {
        let (r, a, b, c) = (
            OrgId::generate(),
            OrgId::generate(),
            OrgId::generate(),
            OrgId::generate(),
        );
        let tree = OrgTree::new(vec![
            org(r, None, r, 0),
            org(a, Some(r), r, 1),
            org(b, Some(r), r, 2),
            org(c, Some(a), r, 3),
        ]);
        assert_eq!(tree.ancestors(c), vec![r, a]);
        assert_eq!(tree.children(r), &[a, b]);
        assert_eq!(tree.subtree(a), vec![a, c]);
        assert_eq!(tree.subtree(r), vec![r, a, c, b]);
        assert_eq!(tree.all_in_order().len(), 4);
    }
}
