//! `/accounts/api/me` answers kept as rendered bytes (issue 4). Building the
//! answer (the user, the organization in full with its environments, every
//! visible organization) cost ≈ 80 µs of allocation and JSON per request,
//! eight times the token check itself, and the answer only changes when the
//! directory, an app or an MFA fact changes. Each entry remembers the
//! [`ViewVersion`] it was rendered at; any change bumps one of the epochs
//! behind that version, so an entry is served only while nothing it was built
//! from has changed. Off with a shared database, like the caches it sits on.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use dashmap::DashMap;

use super::{Keyhouse, MeView, Principal};
use crate::error::CoreResult;
use crate::ids::UserId;

/// Most answers kept; the map is emptied when full, so a flood of distinct
/// callers costs at most this many entries (an answer is about 4 KB: ≈ 8 MB).
const MAX_ENTRIES: usize = 2048;

/// Which of the three "who am I" answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeShape {
    /// `/accounts/api/me`: `{"user": …, "client"?: …}`.
    Wrapped,
    /// `/accounts/api/users/me` and `/accounts/api/profile`: the user alone.
    Flat,
}

/// The sum of the epochs of the directory, app and MFA caches: it grows with
/// every change to anything `/me` shows, so equality means "nothing changed".
type ViewVersion = u64;

/// Everything of a principal that its `/me` answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MeKey {
    user: Option<UserId>,
    client: Option<String>,
    scope: Option<String>,
    shape: MeShape,
}

impl MeKey {
    fn of(principal: &Principal, shape: MeShape) -> Self {
        Self {
            user: principal.user_id,
            client: principal.client_id.clone(),
            scope: principal.scope.clone(),
            shape,
        }
    }
}

/// Rendered answers by principal.
#[derive(Debug, Default)]
pub(crate) struct MeCache {
    enabled: bool,
    entries: DashMap<MeKey, (ViewVersion, Bytes)>,
    /// Approximate entry count, to bound the map without locking it whole.
    len: AtomicUsize,
}

impl MeCache {
    /// A cache, or one that keeps nothing when `enabled` is false.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    fn get(&self, key: &MeKey, version: ViewVersion) -> Option<Bytes> {
        let entry = self.entries.get(key)?;
        (entry.0 == version).then(|| entry.1.clone())
    }

    fn keep(&self, key: MeKey, version: ViewVersion, body: Bytes) {
        if !self.enabled {
            return;
        }
        if self.len.load(Ordering::Relaxed) >= MAX_ENTRIES {
            self.entries.clear();
            self.len.store(0, Ordering::Relaxed);
        }
        if self.entries.insert(key, (version, body)).is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Keyhouse {
    /// The version of everything `/me` is built from (see [`ViewVersion`]).
    fn view_version(&self) -> ViewVersion {
        self.directory
            .epoch()
            .wrapping_add(self.apps.epoch())
            .wrapping_add(self.mfa_cache.epoch())
    }

    /// [`Keyhouse::me`] rendered by `render`, served from memory while nothing
    /// it shows has changed. Errors (a disabled user, a missing scope) are
    /// never kept: they come from a fresh [`Keyhouse::me`] every time.
    pub async fn me_rendered(
        &self,
        principal: &Principal,
        shape: MeShape,
        render: impl FnOnce(&MeView) -> Bytes,
    ) -> CoreResult<Bytes> {
        let key = MeKey::of(principal, shape);
        let version = self.view_version();
        if let Some(hit) = self.me_cache.get(&key, version) {
            return Ok(hit);
        }
        // Boxed: only a miss builds the view, and its large state machine
        // would otherwise be part of every hit's future.
        let view = Box::pin(self.me(principal)).await?;
        let body = render(&view);
        self.me_cache.keep(key, version, body.clone());
        Ok(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn key(n: u32) -> MeKey {
        MeKey {
            user: None,
            client: Some(format!("app-{n}")),
            scope: None,
            shape: MeShape::Wrapped,
        }
    }

    #[test]
    fn an_answer_is_served_only_at_the_version_it_was_rendered_at() {
        let cache = MeCache::new(true);
        cache.keep(key(1), 7, Bytes::from_static(b"{}"));
        assert_eq!(cache.get(&key(1), 7).as_deref(), Some(&b"{}"[..]));
        assert_eq!(cache.get(&key(1), 8), None, "a change since rendering");
        assert_eq!(cache.get(&key(2), 7), None, "another principal");
        let flat = MeKey {
            shape: MeShape::Flat,
            ..key(1)
        };
        assert_eq!(cache.get(&flat, 7), None, "another shape");
    }

    #[test]
    fn a_disabled_cache_keeps_nothing_and_a_full_one_starts_over() {
        let off = MeCache::new(false);
        off.keep(key(1), 1, Bytes::from_static(b"{}"));
        assert_eq!(off.get(&key(1), 1), None);

        let cache = MeCache::new(true);
        for n in 0..MAX_ENTRIES as u32 {
            cache.keep(key(n), 1, Bytes::from_static(b"{}"));
        }
        assert_eq!(cache.entries.len(), MAX_ENTRIES);
        cache.keep(key(u32::MAX), 1, Bytes::from_static(b"{}"));
        assert_eq!(cache.entries.len(), 1, "emptied, then the new answer kept");
        assert!(cache.get(&key(u32::MAX), 1).is_some());
    }
}
