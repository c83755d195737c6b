//! Storage of identity providers (federated sign-in, issue 6 §1).

use async_trait::async_trait;

use crate::access::{Membership, Organization, User};
use crate::audit::AuditEvent;
use crate::authn::token::TokenHash;
use crate::federation::{FederationState, IdentityProvider, ProviderId};
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;
use crate::time_fmt::Timestamp;

/// Identity providers of organizations, federated identities and pending
/// federated sign-ins. Methods that take audit events write them in the same
/// transaction as the change they describe.
#[async_trait]
pub trait IdentityProviderStore: Send + Sync {
    /// Stores a new provider; a name already used in the same organization
    /// (case-insensitive) is a conflict.
    async fn insert_identity_provider(
        &self,
        provider: &IdentityProvider,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// One provider by id.
    async fn find_identity_provider(&self, id: ProviderId)
        -> StoreResult<Option<IdentityProvider>>;
    /// The providers of one organization, oldest first.
    async fn list_identity_providers(&self, org: OrgId) -> StoreResult<Vec<IdentityProvider>>;
    /// The providers of every organization in the tree whose root is `root`,
    /// oldest first (the sign-in page of an app of that tree offers them).
    async fn list_identity_providers_in_tree(
        &self,
        root: OrgId,
    ) -> StoreResult<Vec<IdentityProvider>>;
    /// Every provider of one protocol (`kind`: `oidc` or `saml`) in every
    /// organization, oldest first: a SAML response posted to the shared
    /// endpoint is matched to its provider by issuer.
    async fn list_identity_providers_of_kind(
        &self,
        kind: &str,
    ) -> StoreResult<Vec<IdentityProvider>>;
    /// Replaces name, configuration, secret and `updated_at`; `NotFound` when
    /// absent, a name clash is a conflict.
    async fn update_identity_provider(
        &self,
        provider: &IdentityProvider,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Deletes a provider with its federated identities (the users stay) and
    /// pending sign-ins; `NotFound` when absent.
    async fn delete_identity_provider(
        &self,
        id: ProviderId,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;

    /// The user linked to `subject` at `provider`, if any.
    async fn find_federated_user(
        &self,
        provider: ProviderId,
        subject: &str,
    ) -> StoreResult<Option<UserId>>;
    /// Just-in-time provisioning: creates the user, their membership and the
    /// link (provider, subject) → user, all or nothing. A taken username, or a
    /// subject already linked, is a conflict.
    async fn insert_federated_user(
        &self,
        user: &User,
        membership: &Membership,
        provider: ProviderId,
        subject: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// Updates a user's first name, last name, email and `updated_at` (from
    /// the upstream's claims); `NotFound` when absent.
    async fn update_federated_profile(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()>;

    /// Spends a SAML assertion id of `provider`; false when it was already
    /// used. Atomic: of concurrent callers one gets true. Ids past their
    /// expiry (before `now`) are forgotten on the way.
    async fn record_saml_assertion(
        &self,
        provider: ProviderId,
        assertion_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Remembers a federated sign-in in flight.
    async fn insert_federation_state(&self, state: &FederationState) -> StoreResult<()>;
    /// Takes a pending sign-in out, atomically: of concurrent callers with the
    /// same hash at most one gets it; afterwards nobody does (single use).
    /// Expired states are returned too (the caller checks `expires_at`).
    async fn consume_federation_state(
        &self,
        state_hash: &TokenHash,
    ) -> StoreResult<Option<FederationState>>;
    /// Removes pending sign-ins that expired before `now`; returns how many.
    async fn purge_expired_federation_states(&self, now: Timestamp) -> StoreResult<u64>;

    /// Sets or clears an organization's login domain (`/accounts/login/{domain}`);
    /// a domain used by another organization is a conflict, an unknown
    /// organization `NotFound`.
    async fn set_organization_domain(
        &self,
        org: OrgId,
        domain: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// The organization whose login domain is `domain` (already lower-cased).
    async fn find_organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>>;
}
