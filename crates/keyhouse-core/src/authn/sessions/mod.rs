//! The in-memory session table: validation of a bearer token is a hash lookup
//! here, never a disk read (architecture guide, "The hot path").
//!
//! There is one entry per live token, so the layout is chosen for memory
//! (issue 4: at most 150 MB RSS with a million live tokens):
//!
//! - An entry is 60 bytes: the 32-byte token hash, the expiry, and five `u32`
//!   references into side tables of the entry's shard (org id, user id, client
//!   id, scope string, lifetime). Each distinct value is stored once per shard,
//!   counted, and dropped with the last entry that refers to it, so a million
//!   tokens of one app hold its client id a handful of times, and churn of
//!   apps or users does not leak.
//! - Entries sit in a dense `Vec` per shard; the hash index holds only their
//!   `u32` position. A hash map holding the entries themselves keeps 1/8 to
//!   9/16 of its slots empty (load factor 7/8, then it doubles), and with
//!   every empty slot the size of an entry that cost up to 2.3× the entries'
//!   own size: the previous `DashMap<TokenHash, _>` used 257 bytes of RSS per
//!   token at one million (2^21 slots of 121 bytes). Here an empty slot costs
//!   5 bytes (4 for the position, 1 control byte).
//! - Keyhouse's client ids (32 lowercase hex digits) and UUIDs are kept as
//!   their 16 raw bytes; other strings (scopes, imported client ids) boxed.
//! - The token hash is SHA-256 output, uniform already: its own bytes pick the
//!   shard and the slot, with no hashing on lookup. Lookups with a hash chosen
//!   by a client only probe; only minted tokens are ever inserted.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::{DefaultHashBuilder, HashTable};
use uuid::Uuid;

use super::token::{AccessTokenRecord, TokenHash};
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// An absent optional field (user, client, scope).
const NONE: u32 = u32::MAX;
/// Set in a text reference that points into the boxed strings rather than
/// the 16-byte values.
const BOXED: u32 = 1 << 31;

/// One live token. `Copy`, 60 bytes, 4-byte aligned (the expiry is split in
/// two halves so that no field needs 8-byte alignment, which would pad the
/// entry to 64 bytes).
#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: [u8; 32],
    expires_hi: i32,
    expires_lo: u32,
    /// `expires_at - created_at`, in `Shard::lifetimes` (tokens of one kind
    /// share it: one hour for app tokens, the session timeout for logins).
    lifetime: u32,
    /// In `Shard::ids`.
    org: u32,
    /// A text reference (see [`BOXED`]) or [`NONE`].
    client: u32,
    /// In `Shard::ids`, or [`NONE`].
    user: u32,
    /// A text reference or [`NONE`].
    scope: u32,
}

impl Entry {
    fn expires_at(&self) -> i64 {
        (i64::from(self.expires_hi) << 32) | i64::from(self.expires_lo)
    }
}

/// A word of a token hash: word 0 places an entry in its shard's index,
/// word 1 picks the shard. SHA-256 output needs no further hashing.
fn word(hash: &[u8; 32], n: usize) -> u64 {
    let mut bytes = [0u8; 8];
    if let Some(part) = hash.get(n * 8..n * 8 + 8) {
        bytes.copy_from_slice(part);
    }
    u64::from_le_bytes(bytes)
}

/// Keyhouse's client ids (32 lowercase hex digits) as their 16 bytes. Upper
/// case is left alone so that the string comes back exactly as it went in.
fn packed_hex(text: &str) -> Option<[u8; 16]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        let [high, low] = *pair else {
            return None;
        };
        *byte = (nibble(high)? << 4) | nibble(low)?;
    }
    Some(bytes)
}

/// The inverse of [`packed_hex`]; on the validation path, so without the
/// per-character overhead of a general encoder.
fn unpacked_hex(bytes: &[u8; 16]) -> Option<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    for (pair, byte) in text.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&[
            DIGITS[usize::from(byte >> 4)],
            DIGITS[usize::from(byte & 0x0f)],
        ]);
    }
    std::str::from_utf8(&text).ok().map(str::to_owned)
}

/// A distinct value and how many entries refer to it.
#[derive(Debug)]
struct Slot<T> {
    value: T,
    refs: u32,
}

/// Distinct values shared by entries, each stored once and dropped with the
/// last entry that refers to it. Entries refer to a value by its slot number;
/// freed slots are reused, so numbers stay small and stable.
#[derive(Debug)]
struct Interner<T> {
    slots: Vec<Slot<T>>,
    /// Slots whose value was dropped, reused first.
    vacant: Vec<u32>,
    /// Slot numbers by the hash of their value.
    index: HashTable<u32>,
    /// foldhash, seeded per process: the values are ids Keyhouse generated,
    /// a few lifetimes and scope strings, not keys a client can choose at will.
    hasher: DefaultHashBuilder,
}

impl<T: Hash + Eq + Default> Interner<T> {
    fn new() -> Self {
        Self {
            slots: Vec::new(),
            vacant: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The slot of `value`, if some entry refers to it.
    fn find<Q>(&self, value: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        self.index
            .find(self.hasher.hash_one(value), |&id| {
                slots
                    .get(id as usize)
                    .is_some_and(|s| s.value.borrow() == value)
            })
            .copied()
    }

    /// The slot of `value`, added if new; one more entry refers to it.
    fn acquire(&mut self, value: T) -> u32 {
        let hash = self.hasher.hash_one(&value);
        let Self {
            slots,
            vacant,
            index,
            hasher,
        } = self;
        if let Some(&id) = index.find(hash, |&id| {
            slots.get(id as usize).is_some_and(|s| s.value == value)
        }) {
            if let Some(slot) = slots.get_mut(id as usize) {
                slot.refs = slot.refs.saturating_add(1);
            }
            return id;
        }
        let slot = Slot { value, refs: 1 };
        let id = match vacant.pop() {
            Some(id) => {
                if let Some(free) = slots.get_mut(id as usize) {
                    *free = slot;
                }
                id
            }
            None => {
                slots.push(slot);
                // Fewer than 2^31 values: each one is held by an entry of 60 bytes.
                (slots.len() - 1) as u32
            }
        };
        index.insert_unique(hash, id, |&id| {
            slots
                .get(id as usize)
                .map_or(0, |s| hasher.hash_one(&s.value))
        });
        id
    }

    /// One entry fewer refers to slot `id`; the value is dropped with the last.
    fn release(&mut self, id: u32) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        if slot.refs == 0 {
            return;
        }
        slot.refs -= 1;
        if slot.refs > 0 {
            return;
        }
        let hash = self.hasher.hash_one(&slot.value);
        // Frees a boxed string now rather than when the slot is reused.
        let value = std::mem::take(&mut slot.value);
        if let Ok(found) = self.index.find_entry(hash, |&other| other == id) {
            found.remove();
        }
        drop(value);
        self.vacant.push(id);
        if self.vacant.len() == self.slots.len() {
            // Nothing refers to any value any more: give the memory back.
            self.slots = Vec::new();
            self.vacant = Vec::new();
            self.index = HashTable::new();
        }
    }

    /// The value in slot `id`, if an entry refers to it.
    fn get(&self, id: u32) -> Option<&T> {
        self.slots
            .get(id as usize)
            .filter(|s| s.refs > 0)
            .map(|s| &s.value)
    }

    /// Number of distinct values held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len() - self.vacant.len()
    }
}

/// A part of the table with its own lock, entries and side tables.
#[derive(Debug)]
struct Shard {
    entries: Vec<Entry>,
    /// Positions in `entries`, by [`word`] 0 of the token hash.
    positions: HashTable<u32>,
    /// Org ids, user ids and Keyhouse-shaped client ids, as 16 bytes.
    ids: Interner<[u8; 16]>,
    /// Scopes and other client ids.
    texts: Interner<Box<str>>,
    /// `expires_at - created_at` in milliseconds.
    lifetimes: Interner<i64>,
}

impl Shard {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            positions: HashTable::new(),
            ids: Interner::new(),
            texts: Interner::new(),
            lifetimes: Interner::new(),
        }
    }

    fn position(&self, hash: &[u8; 32]) -> Option<usize> {
        let entries = &self.entries;
        self.positions
            .find(word(hash, 0), |&p| {
                entries.get(p as usize).is_some_and(|e| &e.hash == hash)
            })
            .map(|&p| p as usize)
    }

    fn acquire_text(&mut self, text: Option<String>) -> u32 {
        match text {
            None => NONE,
            Some(text) => match packed_hex(&text) {
                Some(bytes) => self.ids.acquire(bytes),
                None => BOXED | self.texts.acquire(text.into_boxed_str()),
            },
        }
    }

    /// The reference `text` would have, if any entry of this shard refers to it.
    fn find_text(&self, text: &str) -> Option<u32> {
        match packed_hex(text) {
            Some(bytes) => self.ids.find(&bytes),
            None => self.texts.find(text).map(|id| BOXED | id),
        }
    }

    /// The string behind a text reference: `Some(None)` for [`NONE`], `None`
    /// for a dangling reference (which would be a bug).
    fn text(&self, reference: u32) -> Option<Option<String>> {
        if reference == NONE {
            Some(None)
        } else if reference & BOXED != 0 {
            self.texts
                .get(reference & !BOXED)
                .map(|t| Some(t.to_string()))
        } else {
            self.ids.get(reference).and_then(unpacked_hex).map(Some)
        }
    }

    fn release_text(&mut self, reference: u32) {
        if reference == NONE {
            return;
        }
        if reference & BOXED != 0 {
            self.texts.release(reference & !BOXED);
        } else {
            self.ids.release(reference);
        }
    }

    /// The record an entry stands for; `None` only if a reference dangles.
    fn record(&self, entry: &Entry) -> Option<AccessTokenRecord> {
        let expires_at = entry.expires_at();
        let lifetime = *self.lifetimes.get(entry.lifetime)?;
        let user_id = if entry.user == NONE {
            None
        } else {
            Some(UserId(Uuid::from_bytes(*self.ids.get(entry.user)?)))
        };
        Some(AccessTokenRecord {
            hash: TokenHash(entry.hash),
            user_id,
            client_id: self.text(entry.client)?,
            org_id: OrgId(Uuid::from_bytes(*self.ids.get(entry.org)?)),
            created_at: Timestamp(expires_at.wrapping_sub(lifetime)),
            expires_at: Timestamp(expires_at),
            scope: self.text(entry.scope)?,
        })
    }

    fn insert(&mut self, record: AccessTokenRecord) {
        let AccessTokenRecord {
            hash,
            user_id,
            client_id,
            org_id,
            created_at,
            expires_at,
            scope,
        } = record;
        let entry = Entry {
            hash: hash.0,
            expires_hi: (expires_at.0 >> 32) as i32,
            expires_lo: expires_at.0 as u32,
            lifetime: self
                .lifetimes
                .acquire(expires_at.0.wrapping_sub(created_at.0)),
            org: self.ids.acquire(*org_id.0.as_bytes()),
            client: self.acquire_text(client_id),
            user: user_id.map_or(NONE, |u| self.ids.acquire(*u.0.as_bytes())),
            scope: self.acquire_text(scope),
        };
        match self.position(&entry.hash) {
            Some(p) => {
                if let Some(slot) = self.entries.get_mut(p) {
                    let old = std::mem::replace(slot, entry);
                    self.release(&old);
                }
            }
            None => {
                // Fewer than 2^32 entries: each is 60 bytes.
                let p = self.entries.len() as u32;
                self.entries.push(entry);
                let entries = &self.entries;
                self.positions.insert_unique(word(&entry.hash, 0), p, |&q| {
                    entries.get(q as usize).map_or(0, |e| word(&e.hash, 0))
                });
            }
        }
    }

    /// Drops the references an entry held.
    fn release(&mut self, entry: &Entry) {
        self.lifetimes.release(entry.lifetime);
        self.ids.release(entry.org);
        if entry.user != NONE {
            self.ids.release(entry.user);
        }
        self.release_text(entry.client);
        self.release_text(entry.scope);
    }

    /// Removes the entry at `p`; the last entry moves into its place.
    fn remove_at(&mut self, p: usize) {
        let Some(&removed) = self.entries.get(p) else {
            return;
        };
        let last = self.entries.len() - 1;
        if let Ok(found) = self
            .positions
            .find_entry(word(&removed.hash, 0), |&q| q as usize == p)
        {
            found.remove();
        }
        self.entries.swap_remove(p);
        if let Some(moved) = self.entries.get(p) {
            if let Some(slot) = self
                .positions
                .find_mut(word(&moved.hash, 0), |&q| q as usize == last)
            {
                *slot = p as u32;
            }
        }
        self.release(&removed);
    }

    /// Keeps the entries `keep` accepts, then gives memory back if most of it
    /// is now unused (a purge after a busy hour, an app with many tokens deleted).
    fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let mut p = 0;
        while let Some(entry) = self.entries.get(p) {
            if keep(entry) {
                p += 1;
            } else {
                self.remove_at(p);
            }
        }
        let len = self.entries.len();
        if self.entries.capacity() > 1024 && self.entries.capacity() / 4 > len {
            self.entries.shrink_to(len * 2);
        }
        if self.positions.capacity() > 1024 && self.positions.capacity() / 4 > len {
            let entries = &self.entries;
            self.positions.shrink_to(len * 2, |&q| {
                entries.get(q as usize).map_or(0, |e| word(&e.hash, 0))
            });
        }
    }
}

fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    // A panic while a shard was locked cannot leave it half-changed in a way
    // that matters more than refusing all later requests would.
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

/// A shard's lock with its lookup counters (issue 7: session-table hit rate).
/// The counters live with the shard, not in one place shared by all cores, so
/// counting a lookup adds a relaxed increment of memory the lookup already
/// touches rather than a cache line every core fights over.
struct Locked {
    lock: RwLock<Shard>,
    /// Lookups that found a live token.
    hits: AtomicU64,
    /// Lookups that found none (unknown, expired or revoked token).
    misses: AtomicU64,
}

impl Locked {
    fn new() -> Self {
        Self {
            lock: RwLock::new(Shard::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

impl Deref for Locked {
    type Target = RwLock<Shard>;

    fn deref(&self) -> &RwLock<Shard> {
        &self.lock
    }
}

/// Live tokens by hash. Writes go to storage first, then here, so the table
/// never holds a token that storage would not return after a restart.
///
/// Sharded (four shards per CPU, like `DashMap`) so that concurrent requests
/// rarely wait on the same lock; see the module documentation for the layout.
pub struct SessionTable {
    /// A power of two in number: [`word`] 1 of the hash, masked, picks one.
    shards: Box<[Locked]>,
}

impl Default for SessionTable {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTable")
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish()
    }
}

impl SessionTable {
    /// An empty table.
    pub fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::with_shards(cpus.saturating_mul(4))
    }

    /// An empty table with `n` shards, rounded up to a power of two.
    fn with_shards(n: usize) -> Self {
        let n = n.clamp(1, 1 << 16).next_power_of_two();
        Self {
            shards: (0..n).map(|_| Locked::new()).collect(),
        }
    }

    fn shard(&self, hash: &TokenHash) -> &Locked {
        // In bounds: the length is a power of two.
        &self.shards[(word(&hash.0, 1) as usize) & (self.shards.len() - 1)]
    }

    /// Adds (or replaces) a token.
    pub fn insert(&self, record: AccessTokenRecord) {
        write(self.shard(&record.hash)).insert(record);
    }

    /// The token if it is present and not expired at `now`. An expired entry is
    /// dropped on sight. Each lookup counts as a hit or a miss.
    pub fn get_live(&self, hash: &TokenHash, now: Timestamp) -> Option<AccessTokenRecord> {
        let shard = self.shard(hash);
        let expired = {
            let guard = read(shard);
            match guard.position(&hash.0).and_then(|p| guard.entries.get(p)) {
                Some(entry) if entry.expires_at() > now.0 => {
                    shard.hits.fetch_add(1, Ordering::Relaxed);
                    return guard.record(entry);
                }
                found => found.is_some(),
            }
        };
        shard.misses.fetch_add(1, Ordering::Relaxed);
        if expired {
            let mut guard = write(shard);
            if let Some(p) = guard.position(&hash.0) {
                // Unless it was replaced in between by a live copy (shared storage).
                if guard
                    .entries
                    .get(p)
                    .is_some_and(|e| e.expires_at() <= now.0)
                {
                    guard.remove_at(p);
                }
            }
        }
        None
    }

    /// Forgets a token (logout, revocation).
    pub fn remove(&self, hash: &TokenHash) {
        let mut guard = write(self.shard(hash));
        if let Some(p) = guard.position(&hash.0) {
            guard.remove_at(p);
        }
    }

    /// Forgets every token issued to a connected app (disable, secret reset, delete).
    pub fn remove_client(&self, client_id: &str) {
        for shard in self.shards.iter() {
            let mut guard = write(shard);
            // A shard that never saw the client id holds none of its tokens.
            if let Some(client) = guard.find_text(client_id) {
                guard.retain(|e| e.client != client);
            }
        }
    }

    /// Forgets every token an app holds for one user (consent revoked, refresh
    /// family killed).
    pub fn remove_user_client(&self, user: UserId, client_id: &str) {
        for shard in self.shards.iter() {
            let mut guard = write(shard);
            let (Some(user), Some(client)) = (
                guard.ids.find(user.0.as_bytes()),
                guard.find_text(client_id),
            ) else {
                continue;
            };
            guard.retain(|e| e.user != user || e.client != client);
        }
    }

    /// Forgets every token an app holds on behalf of users (all grants revoked).
    pub fn remove_delegated(&self, client_id: &str) {
        for shard in self.shards.iter() {
            let mut guard = write(shard);
            if let Some(client) = guard.find_text(client_id) {
                guard.retain(|e| e.user == NONE || e.client != client);
            }
        }
    }

    /// Forgets every token; later lookups go back to storage (shared backends only).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            *write(shard) = Shard::new();
        }
    }

    /// Drops every entry expired at `now`; returns how many remain.
    pub fn purge_expired(&self, now: Timestamp) -> usize {
        let mut remaining = 0;
        for shard in self.shards.iter() {
            let mut guard = write(shard);
            guard.retain(|e| e.expires_at() > now.0);
            remaining += guard.entries.len();
        }
        remaining
    }

    /// Lookups by [`SessionTable::get_live`] so far: `(hits, misses)`.
    pub fn lookups(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(hits, misses), s| {
            (
                hits + s.hits.load(Ordering::Relaxed),
                misses + s.misses.load(Ordering::Relaxed),
            )
        })
    }

    /// Number of tokens held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).entries.len()).sum()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| read(s).entries.is_empty())
    }
}

#[cfg(test)]
mod tests;
