//! The in-memory session table: validation of a bearer token is a hash lookup
//! here, never a disk read (architecture guide, "The hot path").
//!
//! Entries are kept compact because there is one per live token: the hash is
//! the key only, and an app's client id is shared by all of its tokens.

use std::sync::Arc;

use dashmap::{DashMap, DashSet};

use super::token::{AccessTokenRecord, TokenHash};
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// One live token, without its hash (the key).
#[derive(Debug, Clone)]
struct LiveEntry {
    user_id: Option<UserId>,
    client_id: Option<Arc<str>>,
    org_id: OrgId,
    created_at: i64,
    expires_at: i64,
    /// Granted scopes of a delegated token, interned (few distinct sets exist).
    scope: Option<Arc<str>>,
}

/// Live tokens by hash. Writes go to storage first, then here, so the table
/// never holds a token that storage would not return after a restart.
#[derive(Debug, Default)]
pub struct SessionTable {
    live: DashMap<TokenHash, LiveEntry>,
    /// Interned client ids and scope strings, so a million tokens of one app
    /// share one string.
    clients: DashSet<Arc<str>>,
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&self, client_id: &str) -> Arc<str> {
        if let Some(shared) = self.clients.get(client_id) {
            return shared.key().clone();
        }
        let shared: Arc<str> = Arc::from(client_id);
        self.clients.insert(shared.clone());
        shared
    }

    /// Adds (or replaces) a token.
    pub fn insert(&self, record: AccessTokenRecord) {
        let entry = LiveEntry {
            user_id: record.user_id,
            client_id: record.client_id.as_deref().map(|c| self.intern(c)),
            org_id: record.org_id,
            created_at: record.created_at.0,
            expires_at: record.expires_at.0,
            scope: record.scope.as_deref().map(|s| self.intern(s)),
        };
        self.live.insert(record.hash, entry);
    }

    /// The token if it is present and not expired at `now`. An expired entry is
    /// dropped on sight.
    pub fn get_live(&self, hash: &TokenHash, now: Timestamp) -> Option<AccessTokenRecord> {
        let entry = self.live.get(hash).map(|r| r.value().clone())?;
        if entry.expires_at > now.0 {
            Some(AccessTokenRecord {
                hash: *hash,
                user_id: entry.user_id,
                client_id: entry.client_id.map(|c| c.to_string()),
                org_id: entry.org_id,
                created_at: Timestamp(entry.created_at),
                expires_at: Timestamp(entry.expires_at),
                scope: entry.scope.map(|s| s.to_string()),
            })
        } else {
            self.live.remove(hash);
            None
        }
    }

    /// Forgets a token (logout, revocation).
    pub fn remove(&self, hash: &TokenHash) {
        self.live.remove(hash);
    }

    /// Forgets every token issued to a connected app (disable, secret reset, delete).
    pub fn remove_client(&self, client_id: &str) {
        self.live
            .retain(|_, e| e.client_id.as_deref() != Some(client_id));
    }

    /// Forgets every token an app holds for one user (consent revoked, refresh
    /// family killed).
    pub fn remove_user_client(&self, user: UserId, client_id: &str) {
        self.live
            .retain(|_, e| e.user_id != Some(user) || e.client_id.as_deref() != Some(client_id));
    }

    /// Forgets every token an app holds on behalf of users (all grants revoked).
    pub fn remove_delegated(&self, client_id: &str) {
        self.live
            .retain(|_, e| e.user_id.is_none() || e.client_id.as_deref() != Some(client_id));
    }

    /// Forgets every token; later lookups go back to storage (shared backends only).
    pub fn clear(&self) {
        self.live.clear();
    }

    /// Drops every entry expired at `now`; returns how many remain.
    pub fn purge_expired(&self, now: Timestamp) -> usize {
        self.live.retain(|_, e| e.expires_at > now.0);
        self.live.len()
    }

    /// Number of tokens held.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::token::mint;

    #[test]
    fn entries_round_trip_expire_and_share_client_ids() {
        let table = SessionTable::new();
        let record = |client: Option<&str>| AccessTokenRecord {
            hash: mint().hash,
            user_id: None,
            client_id: client.map(str::to_owned),
            org_id: OrgId::generate(),
            created_at: Timestamp(1_000),
            expires_at: Timestamp(2_000),
            scope: None,
        };
        let a = record(Some("app"));
        let b = record(Some("app"));
        table.insert(a.clone());
        table.insert(b.clone());
        assert_eq!(table.get_live(&a.hash, Timestamp(1_500)), Some(a.clone()));
        assert_eq!(table.clients.len(), 1, "client ids are interned");
        table.remove_client("app");
        assert!(table.get_live(&b.hash, Timestamp(1_500)).is_none());
        let c = record(None);
        table.insert(c.clone());
        assert!(
            table.get_live(&c.hash, Timestamp(2_000)).is_none(),
            "expired"
        );
        assert!(table.is_empty());
    }
}
