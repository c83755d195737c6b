//! The service facade: one method per operation the server offers. Handlers
//! call these and map the result; all permission checks happen inside.

mod bootstrap;
mod environments;
mod login;
mod organizations;
mod views;

use std::sync::Arc;

pub use bootstrap::{AdminCredentials, BootstrapOutcome, NewRootOrganization, NewUser};
pub use environments::{EnvUpdate, NewEnvironment};
pub use login::Principal;
pub use organizations::{NewBusinessGroup, OrgUpdate};
pub use views::{HierarchyNode, MeView, OrgDetails, OrgSummary};

use crate::access::{Actor, OrgTree};
use crate::authn::password::PasswordPolicy;
use crate::authn::sessions::SessionTable;
use crate::clock::Clock;
use crate::error::{CoreError, CoreResult};
use crate::ids::OrgId;
use crate::store::{Invalidation, InvalidationReceiver, Store};

/// Settings the core needs from configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreSettings {
    /// Argon2id cost for human passwords.
    pub password_policy: PasswordPolicy,
}

/// The Keyhouse service: storage, clock, live sessions and settings, shared by all requests.
pub struct Keyhouse {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sessions: Arc<SessionTable>,
    settings: CoreSettings,
    /// A real Argon2id hash of a random password, verified against when the
    /// username is unknown so both failures cost the same time.
    dummy_hash: String,
}

impl Keyhouse {
    /// Builds the service and loads every live token into memory, so validation
    /// never has to read storage.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: CoreSettings,
    ) -> CoreResult<Self> {
        let dummy_hash = crate::authn::password::hash_blocking(
            settings.password_policy,
            crate::authn::token::mint().secret,
        )
        .await?;
        let sessions = Arc::new(SessionTable::new());
        // Subscribe before loading, so no revocation falls between the two.
        if let Some(changes) = store.subscribe_invalidations().await? {
            tokio::spawn(follow_invalidations(changes, sessions.clone()));
        }
        let now = clock.now();
        for record in store.list_live_tokens(now).await? {
            sessions.insert(record);
        }
        tracing::info!(live_tokens = sessions.len(), "session table loaded");
        Ok(Self {
            store,
            clock,
            sessions,
            settings,
            dummy_hash,
        })
    }

    /// The storage behind the service (for readiness checks and the CLI).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Answers when storage answers: the readiness probe.
    pub async fn ready(&self) -> CoreResult<()> {
        self.store.ping().await.map_err(CoreError::from)
    }

    /// Removes expired tokens from memory and storage; run periodically by the server.
    pub async fn purge_expired(&self) -> CoreResult<u64> {
        let now = self.clock.now();
        self.sessions.purge_expired(now);
        Ok(self.store.purge_expired_tokens(now).await?)
    }

    /// The caller as a user with memberships; a user deleted or disabled since
    /// the token was issued makes the token invalid.
    async fn actor(&self, principal: &Principal) -> CoreResult<Actor> {
        let user = self
            .store
            .find_user(principal.user_id)
            .await?
            .filter(|u| u.enabled)
            .ok_or(CoreError::InvalidToken)?;
        let memberships = self.store.list_memberships(user.id).await?;
        Ok(Actor { user, memberships })
    }

    /// The tree that `org` belongs to, or the no-access refusal when it does not
    /// exist or is in another tenant's tree.
    async fn tree_of(&self, actor: &Actor, org: OrgId) -> CoreResult<OrgTree> {
        let found = self.store.find_organization(org).await?;
        match found {
            Some(o) if o.root_id == actor.user.org_id => {
                Ok(OrgTree::new(self.store.list_tree(o.root_id).await?))
            }
            _ => Err(crate::access::permissions::no_access(org)),
        }
    }
}

/// Applies other nodes' revocations to this node's session table until the
/// store closes the stream.
async fn follow_invalidations(mut changes: InvalidationReceiver, sessions: Arc<SessionTable>) {
    while let Some(change) = changes.recv().await {
        match change {
            Invalidation::TokenRevoked(hash) => sessions.remove(&hash),
            Invalidation::Everything => sessions.clear(),
        }
    }
}
