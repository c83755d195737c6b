//! The in-memory session table: validation of a bearer token is a hash lookup
//! here, never a disk read (architecture guide, "The hot path").

use dashmap::DashMap;

use super::token::{AccessTokenRecord, TokenHash};
use crate::time_fmt::Timestamp;

/// Live tokens by hash. Writes go to storage first, then here, so the table
/// never holds a token that storage would not return after a restart.
#[derive(Debug, Default)]
pub struct SessionTable {
    live: DashMap<TokenHash, AccessTokenRecord>,
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a token.
    pub fn insert(&self, record: AccessTokenRecord) {
        self.live.insert(record.hash, record);
    }

    /// The token if it is present and not expired at `now`. An expired entry is
    /// dropped on sight.
    pub fn get_live(&self, hash: &TokenHash, now: Timestamp) -> Option<AccessTokenRecord> {
        let record = self.live.get(hash).map(|r| r.value().clone())?;
        if record.expires_at > now {
            Some(record)
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
            .retain(|_, r| r.client_id.as_deref() != Some(client_id));
    }

    /// Forgets every token; later lookups go back to storage (shared backends only).
    pub fn clear(&self) {
        self.live.clear();
    }

    /// Drops every entry expired at `now`; returns how many remain.
    pub fn purge_expired(&self, now: Timestamp) -> usize {
        self.live.retain(|_, r| r.expires_at > now);
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
