//! The directory in memory: users, memberships, organization trees and
//! environments, so that a request needs no storage read once they are warm
//! (architecture guide, "The hot path"). Every change through the service
//! clears what it touched. With a shared database (several nodes) the cache
//! is off, since other nodes' changes to these tables are not announced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use crate::access::{Environment, Membership, OrgTree, User};
use crate::ids::{OrgId, UserId};

/// Cached directory data; each read that raced with a change is not kept.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    enabled: bool,
    epoch: AtomicU64,
    users: DashMap<UserId, User>,
    memberships: DashMap<UserId, Arc<Vec<Membership>>>,
    trees: DashMap<OrgId, Arc<OrgTree>>,
    roots: DashMap<OrgId, OrgId>,
    environments: DashMap<OrgId, Arc<Vec<Environment>>>,
}

impl Directory {
    /// A directory cache, or a pass-through one when `enabled` is false.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    /// The epoch to hand back to the `keep_*` methods after a storage read.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn current(&self, epoch: u64) -> bool {
        self.enabled && self.epoch() == epoch
    }

    pub(crate) fn user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).map(|u| u.value().clone())
    }

    pub(crate) fn keep_user(&self, epoch: u64, user: &User) {
        if self.current(epoch) {
            self.users.insert(user.id, user.clone());
        }
    }

    pub(crate) fn memberships(&self, id: UserId) -> Option<Arc<Vec<Membership>>> {
        self.memberships.get(&id).map(|m| m.value().clone())
    }

    pub(crate) fn keep_memberships(&self, epoch: u64, id: UserId, list: Arc<Vec<Membership>>) {
        if self.current(epoch) {
            self.memberships.insert(id, list);
        }
    }

    pub(crate) fn tree(&self, root: OrgId) -> Option<Arc<OrgTree>> {
        self.trees.get(&root).map(|t| t.value().clone())
    }

    pub(crate) fn keep_tree(&self, epoch: u64, root: OrgId, tree: Arc<OrgTree>) {
        if self.current(epoch) {
            for org in tree.all_in_order() {
                self.roots.insert(org.id, root);
            }
            self.trees.insert(root, tree);
        }
    }

    pub(crate) fn root_of(&self, org: OrgId) -> Option<OrgId> {
        self.roots.get(&org).map(|r| *r.value())
    }

    pub(crate) fn environments(&self, org: OrgId) -> Option<Arc<Vec<Environment>>> {
        self.environments.get(&org).map(|e| e.value().clone())
    }

    pub(crate) fn keep_environments(&self, epoch: u64, org: OrgId, list: Arc<Vec<Environment>>) {
        if self.current(epoch) {
            self.environments.insert(org, list);
        }
    }

    /// Forgets one user (after a login updated `lastLogin`, or any change to them).
    pub(crate) fn forget_user(&self, id: UserId) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.users.remove(&id);
        self.memberships.remove(&id);
    }

    /// Forgets everything (after any change to organizations or environments).
    pub(crate) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.users.clear();
        self.memberships.clear();
        self.trees.clear();
        self.roots.clear();
        self.environments.clear();
    }
}
