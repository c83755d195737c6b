//! MFA facts read on every `/accounts/api/me` (`mfaRequired`,
//! `mfaVerifiersConfigured`), kept in memory so validation stays free of
//! storage reads (issue 4). Only for a backend one node uses; with a shared
//! database other nodes' changes could not be followed, so it stays off.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

use crate::ids::{OrgId, UserId};

/// Cached MFA policy per root organization and enrollment per user.
#[derive(Debug, Default)]
pub(crate) struct MfaCache {
    enabled: bool,
    /// Bumped by every change, so a read that raced with one is not kept.
    epoch: AtomicU64,
    required: DashMap<OrgId, bool>,
    configured: DashMap<UserId, bool>,
}

impl MfaCache {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn required(&self, org: OrgId) -> Option<bool> {
        self.required.get(&org).map(|v| *v)
    }

    pub(crate) fn configured(&self, user: UserId) -> Option<bool> {
        self.configured.get(&user).map(|v| *v)
    }

    pub(crate) fn keep_required(&self, epoch: u64, org: OrgId, value: bool) {
        if self.enabled && self.epoch() == epoch {
            self.required.insert(org, value);
        }
    }

    pub(crate) fn keep_configured(&self, epoch: u64, user: UserId, value: bool) {
        if self.enabled && self.epoch() == epoch {
            self.configured.insert(user, value);
        }
    }

    /// Call after a policy change of `org`.
    pub(crate) fn forget_org(&self, org: OrgId) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.required.remove(&org);
    }

    /// Call after a user's factor was confirmed or removed.
    pub(crate) fn forget_user(&self, user: UserId) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.configured.remove(&user);
    }
}
