//! Storage contracts: narrow traits per aggregate, composed into [`Store`].
//!
//! Each backend crate (SQLite, PostgreSQL) implements all of them; the
//! conformance suite in [`crate::conformance`] holds both to the same behaviour.
//! Every method that changes several rows does so in one transaction.

use async_trait::async_trait;
use thiserror::Error;

use crate::access::{ConnectedApp, Environment, Membership, Organization, ScopeGrant, User};
use crate::audit::AuditEvent;
use crate::audit_query::{AuditFilter, AuditQuery, AuditRecord};
use crate::authn::browser::BrowserSession;
use crate::authn::token::{AccessTokenRecord, TokenHash};
use crate::ids::{EnvId, OrgId, UserId};
use crate::oauth::records::{
    AuthorizationCode, CodeRedemption, Consent, RefreshRotation, RefreshTokenRecord, UsedAssertion,
};
use crate::oidc::keys::SigningKeyRecord;
use crate::time_fmt::Timestamp;

/// What a backend can report; mapped to [`crate::CoreError`] by the core.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the message names the rule for the user.
    #[error("{0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached or is busy beyond the timeout.
    #[error("{0}")]
    Unavailable(String),
    /// Stored data could not be decoded (a bug or manual tampering).
    #[error("{0}")]
    Corrupt(String),
}

/// Shorthand for backend results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A page of results and the total count without paging (Anypoint `{data,total}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub total: u64,
}

/// Organizations and business groups.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates a root organization with its environments, its owner and the owner's
    /// admin membership, all or nothing (first start, `keyhouse admin create-org`).
    async fn insert_root_organization(
        &self,
        org: &Organization,
        environments: &[Environment],
        owner: &User,
    ) -> StoreResult<()>;
    /// Creates a business group with its initial environments, all or nothing.
    async fn insert_business_group(
        &self,
        org: &Organization,
        environments: &[Environment],
    ) -> StoreResult<()> {
        self.insert_business_group_audited(org, environments, &[])
            .await
    }
    /// [`Self::insert_business_group`] with audit events written in the same
    /// transaction (the plain form stays for callers that record none).
    async fn insert_business_group_audited(
        &self,
        org: &Organization,
        environments: &[Environment],
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// One organization by id.
    async fn find_organization(&self, id: OrgId) -> StoreResult<Option<Organization>>;
    /// Every organization of the tree whose root is `root_id`.
    async fn list_tree(&self, root_id: OrgId) -> StoreResult<Vec<Organization>>;
    /// Every root organization, oldest first.
    async fn list_root_organizations(&self) -> StoreResult<Vec<Organization>>;
    /// Replaces the mutable fields (name, owner, timeout, entitlements,
    /// properties, updated_at), with audit events in the same transaction.
    async fn update_organization(
        &self,
        org: &Organization,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Deletes a business group with its environments and memberships, with
    /// audit events in the same transaction.
    async fn delete_organization(&self, id: OrgId, audit: &[AuditEvent]) -> StoreResult<()>;
}

/// Environments of organizations.
#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    /// Creates an environment, with audit events in the same transaction; a
    /// duplicate name in the same org is a conflict.
    async fn insert_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()>;
    /// One environment by id.
    async fn find_environment(&self, id: EnvId) -> StoreResult<Option<Environment>>;
    /// Environments of an org, oldest first, paged.
    async fn list_environments(
        &self,
        org: OrgId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<Environment>>;
    /// Renames an environment (the only mutable field), with audit events.
    async fn update_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Deletes an environment, with audit events in the same transaction.
    async fn delete_environment(&self, id: EnvId, audit: &[AuditEvent]) -> StoreResult<()>;
}

/// Users and memberships.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user with their memberships, all or nothing; a taken username is a conflict.
    async fn insert_user(&self, user: &User, memberships: &[Membership]) -> StoreResult<()> {
        self.insert_user_audited(user, memberships, &[]).await
    }
    /// [`Self::insert_user`] with audit events in the same transaction (`POST …/users`).
    async fn insert_user_audited(
        &self,
        user: &User,
        memberships: &[Membership],
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Users whose root organization is `root`, by case-folded username, whose
    /// username, first or last name or email contains `search` (case-insensitive,
    /// literal) when given; paged (`GET …/users`).
    async fn list_users(
        &self,
        root: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<User>>;
    /// Replaces the profile fields, `enabled` and `updated_at`, with audit events, in
    /// one transaction. A user saved disabled also loses every access token,
    /// refresh token, browser session, unused code and pending MFA sign-in in that
    /// transaction (disabling takes effect at once, on every node); returns the
    /// hashes of the access tokens deleted, for the caller's memory.
    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<Vec<TokenHash>>;
    /// Deletes a user with everything that hangs off them (memberships, tokens,
    /// sessions, consents, MFA, federated links), with audit events; returns the
    /// hashes of the access tokens deleted. `NotFound` when absent.
    async fn delete_user(&self, id: UserId, audit: &[AuditEvent]) -> StoreResult<Vec<TokenHash>>;
    /// One user by id.
    async fn find_user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// One user by case-folded username ([`crate::access::user::username_key`]).
    async fn find_user_by_username_key(&self, key: &str) -> StoreResult<Option<User>>;
    /// The user's memberships in every organization.
    async fn list_memberships(&self, user: UserId) -> StoreResult<Vec<Membership>>;
    /// Adds or changes one membership.
    async fn upsert_membership(&self, membership: &Membership) -> StoreResult<()>;
    /// Records a successful login time.
    async fn record_login(&self, user: UserId, at: Timestamp) -> StoreResult<()>;
}

/// Connected apps and their context-bound scopes.
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Registers an app with its scopes and audit events, all or nothing; a
    /// name already used in the same organization (case-insensitive) is a conflict.
    async fn insert_app(
        &self,
        app: &ConnectedApp,
        scopes: &[ScopeGrant],
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// One app by client id.
    async fn find_app(&self, client_id: &str) -> StoreResult<Option<ConnectedApp>>;
    /// Apps owned by `org`, oldest first, whose name contains `search`
    /// (case-insensitive) when given; paged.
    async fn list_apps(
        &self,
        org: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<ConnectedApp>>;
    /// Replaces every mutable field (name, grants, URIs, keys, scopes, audience,
    /// enabled, secret hash, owner, timestamps) and writes the audit events, in
    /// one transaction; a name clash is a conflict.
    async fn update_app(&self, app: &ConnectedApp, audit: &[AuditEvent]) -> StoreResult<()>;
    /// Deletes an app with its scopes and every token issued to it, with audit events.
    async fn delete_app(&self, client_id: &str, audit: &[AuditEvent]) -> StoreResult<()>;
    /// The app's context-bound scopes, in the order they were set.
    async fn list_app_scopes(&self, client_id: &str) -> StoreResult<Vec<ScopeGrant>>;
    /// Replaces the app's scopes and writes the audit events in one transaction.
    async fn replace_app_scopes(
        &self,
        client_id: &str,
        scopes: &[ScopeGrant],
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
}

/// Issued access tokens, stored only by their hash.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores new tokens in one transaction (one fsync for the whole batch:
    /// group commit); all of them are durable when this returns, or none is.
    async fn insert_tokens(&self, tokens: &[AccessTokenRecord]) -> StoreResult<()> {
        self.insert_tokens_audited(tokens, &[]).await
    }
    /// [`TokenStore::insert_tokens`] with audit events in the same
    /// transaction (the group-commit writer's `token.issued` summaries).
    async fn insert_tokens_audited(
        &self,
        tokens: &[AccessTokenRecord],
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Stores one new token; durable when this returns.
    async fn insert_token(&self, token: &AccessTokenRecord) -> StoreResult<()> {
        self.insert_tokens(std::slice::from_ref(token)).await
    }
    /// One token by hash (used on a cache miss when several nodes share the
    /// database). The embedded store keeps no index on the hash (its live
    /// tokens are all in memory), so there this reads the whole table.
    async fn find_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessTokenRecord>>;
    /// Deletes a token (logout, revocation); durable when this returns. Deleting
    /// an absent token succeeds, so racing logouts both succeed. `expires_at` is
    /// the token's recorded expiry and must match it (a row with another expiry
    /// is left alone): a backend without an index on the hash finds the row
    /// through its expiry index.
    async fn delete_token(&self, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()> {
        self.delete_token_audited(hash, expires_at, &[]).await
    }
    /// [`TokenStore::delete_token`] with audit events in the same transaction.
    async fn delete_token_audited(
        &self,
        hash: &TokenHash,
        expires_at: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Deletes every token issued to an app (secret reset, disable); returns how many.
    async fn delete_tokens_of_app(&self, client_id: &str) -> StoreResult<u64>;
    /// Every token that expires after `now`: loaded into memory at start.
    async fn list_live_tokens(&self, now: Timestamp) -> StoreResult<Vec<AccessTokenRecord>>;
    /// Every token that expires after `now`, handed to `each` as storage reads
    /// them: how the session table is loaded at start, without a second copy
    /// of every live token in memory (issue 4: with a million live tokens, the
    /// `Vec` of records and their strings left ≈ 60 MB of freed heap in the
    /// process). The default collects [`TokenStore::list_live_tokens`].
    async fn for_each_live_token(
        &self,
        now: Timestamp,
        each: &mut (dyn FnMut(AccessTokenRecord) + Send),
    ) -> StoreResult<()> {
        for record in self.list_live_tokens(now).await? {
            each(record);
        }
        Ok(())
    }
    /// Removes tokens that expired before `now`; returns how many.
    async fn purge_expired_tokens(&self, now: Timestamp) -> StoreResult<u64>;
}

/// What apps acting on behalf of users leave behind: browser sessions, codes,
/// consents and refresh tokens (issue 5). Methods that change several rows do
/// so in one transaction, and each writes the audit events it is given in the
/// same transaction as the change they describe.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new browser session.
    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;
    /// One browser session by the hash of its cookie value.
    async fn find_browser_session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>>;
    /// Ends a browser session (sign-out); absent is fine.
    async fn delete_browser_session(&self, hash: &TokenHash) -> StoreResult<()>;

    /// Stores a new authorization code together with the consent it was issued
    /// under (created or widened) and the audit events, all or nothing.
    async fn insert_authorization_code(
        &self,
        code: &AuthorizationCode,
        consent: &Consent,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Consumes a code atomically: of concurrent callers exactly one gets
    /// `Redeemed`; later callers get `AlreadyUsed` (CG-01, CG-07). `now` is the
    /// consumption time recorded.
    async fn redeem_authorization_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<CodeRedemption>;

    /// Records the user's consent (insert or replace scope/updated_at) with audit events.
    async fn upsert_consent(&self, consent: &Consent, audit: &[AuditEvent]) -> StoreResult<()>;
    /// The user's consent for an app, if any.
    async fn find_consent(&self, user: UserId, client_id: &str) -> StoreResult<Option<Consent>>;
    /// Every app a user has authorized, most recently updated first.
    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>>;
    /// Every user who authorized an app, most recently updated first.
    async fn list_consents_of_app(&self, client_id: &str) -> StoreResult<Vec<Consent>>;
    /// Withdraws a consent and, in the same transaction, deletes every access
    /// token, refresh token and unused code the app holds for that user, and
    /// writes the audit events. Returns false when there was no consent.
    async fn revoke_consent(
        &self,
        user: UserId,
        client_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;
    /// Withdraws every user's consent to an app, with all their tokens and codes
    /// (admin "revoke all grants"); returns how many consents there were.
    async fn revoke_consents_of_app(
        &self,
        client_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<u64>;

    /// Stores the tokens a user grant issued in one transaction: the access
    /// token, the refresh token if any, `last_used_at` on the consent (when one
    /// exists for the pair), and the audit events.
    async fn insert_user_tokens(
        &self,
        access: &AccessTokenRecord,
        refresh: Option<&RefreshTokenRecord>,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Marks a refresh token rotated atomically (exactly one concurrent caller
    /// gets `Rotated`, RT-09).
    async fn rotate_refresh_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<RefreshRotation>;
    /// One refresh token by hash (rotated or not).
    async fn find_refresh_token(&self, hash: &TokenHash)
        -> StoreResult<Option<RefreshTokenRecord>>;
    /// Kills a whole family: its refresh tokens, and every access token the
    /// family's app holds for the family's user (reuse detected, code replayed,
    /// refresh token revoked), with audit events. Returns refresh tokens deleted.
    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<u64>;
    /// Removes refresh tokens, codes, browser sessions and used assertion ids
    /// that expired before `now`; returns how many rows went.
    async fn purge_expired_grants(&self, now: Timestamp) -> StoreResult<u64>;

    /// Remembers a JWT-bearer assertion id; false when it was already used (JB-09).
    /// Atomic: of concurrent callers with the same (client, jti) one gets true.
    async fn record_assertion(&self, used: &UsedAssertion) -> StoreResult<bool>;
}

/// ID-token signing keys (issue 5 §7: generated on first start, persisted, rotatable).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Every stored key, oldest first.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Makes `new_key` the signing key: stores it and marks every other
    /// unretired key retired at `at`, in one transaction.
    async fn rotate_signing_key(
        &self,
        new_key: &SigningKeyRecord,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Deletes keys retired before `before` (their tokens have expired).
    async fn delete_retired_keys(&self, before: Timestamp) -> StoreResult<u64>;
}

/// The audit log: written next to the changes it describes, read by the
/// audit query API and `keyhouse audit export`, trimmed by retention.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events in one transaction.
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// Events of an organization, newest first, paged (for tests and the future query API).
    async fn list_audit_events(
        &self,
        org: OrgId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<AuditEvent>>;
    /// One page of the events `query` selects, in `(at, seq)` order (Anypoint
    /// audit query): every filter value is a bound parameter, never SQL text.
    async fn query_audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>>;
    /// How many events `filter` selects, paging aside (`total`, `doIncludeTotal`).
    async fn count_audit_events(&self, filter: &AuditFilter) -> StoreResult<u64>;
    /// Deletes at most `max_rows` events older than `before` (retention), any
    /// organization; returns how many went. Bounded so one call never holds
    /// the database for long; callers repeat while a full batch went.
    async fn purge_audit_events(&self, before: Timestamp, max_rows: u64) -> StoreResult<u64>;
}

/// A change made by some node that every node's in-memory state must follow
/// at once (architecture guide: revocations take effect on every node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// This token was deleted (logout, revocation).
    TokenRevoked(TokenHash),
    /// This app, its scopes or its tokens changed: reload it before trusting it.
    AppChanged(String),
    /// Notifications may have been missed (e.g. a reconnect): forget every cached token.
    Everything,
}

/// Where a shared backend delivers [`Invalidation`]s.
pub type InvalidationReceiver = tokio::sync::mpsc::Receiver<Invalidation>;

/// Everything the server stores, behind one object held as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    OrganizationStore
    + EnvironmentStore
    + UserStore
    + AppStore
    + TokenStore
    + GrantStore
    + KeyStore
    + AuditStore
    + crate::store_mfa::MfaStore
    + crate::store_idp::IdentityProviderStore
{
    /// Answers only when the database does (readiness probe).
    async fn ping(&self) -> StoreResult<()>;
    /// True when other server nodes may write to the same database, so a token
    /// missing from this node's memory must be looked up before it is refused.
    fn is_shared(&self) -> bool;
    /// For shared backends: a stream of changes made by any node. `None` for a
    /// backend only one node uses (nothing to follow).
    async fn subscribe_invalidations(&self) -> StoreResult<Option<InvalidationReceiver>>;
}
