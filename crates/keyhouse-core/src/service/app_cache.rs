//! Connected apps in memory, so a request checks an app's scopes *as they are
//! now* without reading storage. Every write through the service invalidates
//! the entry; with a shared database other nodes' writes arrive as
//! [`crate::store::Invalidation::AppChanged`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use crate::access::{ConnectedApp, ScopeGrant};

/// An app with its context-bound scopes.
#[derive(Debug, Clone)]
pub struct CachedApp {
    pub app: ConnectedApp,
    pub grants: Vec<ScopeGrant>,
}

/// Apps by client id. A load that raced with an invalidation is not kept
/// (the epoch changed meanwhile), so a stale app never outlives a change.
#[derive(Debug, Default)]
pub struct AppCache {
    apps: DashMap<String, Arc<CachedApp>>,
    epoch: AtomicU64,
}

impl AppCache {
    /// The cached entry, if any.
    pub fn get(&self, client_id: &str) -> Option<Arc<CachedApp>> {
        self.apps.get(client_id).map(|e| e.value().clone())
    }

    /// The epoch to pass to [`AppCache::insert_if_current`] after a storage read.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Keeps a freshly loaded app unless something was invalidated since `epoch`.
    pub fn insert_if_current(&self, epoch: u64, entry: Arc<CachedApp>) {
        if self.epoch() == epoch {
            self.apps.insert(entry.app.client_id.clone(), entry);
        }
    }

    /// Forgets one app (after any change to it, its scopes or its tokens).
    pub fn invalidate(&self, client_id: &str) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.apps.remove(client_id);
    }

    /// Forgets every app.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.apps.clear();
    }
}
