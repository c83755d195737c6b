//! The service facade: one method per operation the server offers. Handlers
//! call these and map the result; all permission checks happen inside.

mod app_cache;
mod apps;
mod audit;
mod authorize;
mod bootstrap;
mod consents;
mod directory;
mod environments;
mod federation;
mod federation_oidc;
mod federation_saml;
mod login;
mod me_cache;
mod mfa;
mod mfa_cache;
mod mfa_policy;
mod oidc;
mod organizations;
mod users;
mod views;

use std::sync::Arc;

pub use app_cache::CachedApp;
pub use apps::{AppInput, ScopeInput, ScopeUpdate};
pub use audit::{AuditQueryInput, AuditResults, AUDIT_RETENTION_DAYS};
pub use authorize::NewBrowserSession;
pub use bootstrap::{AdminCredentials, BootstrapOutcome, NewRootOrganization, NewUser};
pub use consents::AuthorizedApp;
pub use environments::{EnvUpdate, NewEnvironment};
pub use federation::{FederatedSignIn, FederationCallback, FederationStart, LoginDomainPage};
pub use federation_saml::{SamlPost, ServiceProviderInfo, SAML_ACS_PATH, SAML_METADATA_PATH};
pub use login::{IssuedToken, Principal};
pub use me_cache::MeShape;
pub use mfa::{
    BrowserSignIn, Enrolled, Enrollment, MfaVisitor, MFA_GRANT_REFUSAL, MFA_LOGIN_REFUSAL,
};
pub use organizations::{NewBusinessGroup, OrgUpdate};
pub use users::{NewOrgUser, UserChange, USER_PAGE_DEFAULT, USER_PAGE_MAX};
pub use views::{AppSummary, HierarchyNode, MeView, OrgDetails, OrgSummary};

use crate::access::{
    Actor, AppActor, Environment, Membership, OrgTree, SecretHash, User, UserActor,
};
use crate::authn::password::{PasswordPolicy, Passwords};
use crate::authn::sessions::SessionTable;
use crate::authn::throttle::{Throttle, ThrottlePolicy};
use crate::authn::token_writer::TokenWriter;
use crate::clock::Clock;
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::oidc::signing::KeyRing;
use crate::store::{Invalidation, InvalidationReceiver, Store};
use app_cache::AppCache;
use directory::Directory;

/// Most environments of one organization held in memory and listed.
pub const ENVIRONMENTS_HELD: u64 = 10_000;

/// Default lifetime of refresh tokens (Anypoint: 90 days).
pub const REFRESH_TOKEN_DAYS: i64 = 90;

/// Settings the core needs from configuration.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Argon2id cost for human passwords.
    pub password_policy: PasswordPolicy,
    /// The public base URL without a trailing slash: OIDC `iss`, the base of
    /// every advertised endpoint, and the audience of JWT-bearer assertions.
    pub issuer: String,
    /// Lifetime of refresh tokens, from the original grant.
    pub refresh_token_days: i64,
    /// Days audit events are kept before the purger deletes them.
    pub audit_retention_days: i64,
}

impl CoreSettings {
    /// Defaults for a server reached at `issuer`.
    pub fn new(issuer: &str) -> Self {
        Self {
            password_policy: PasswordPolicy::default(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            refresh_token_days: REFRESH_TOKEN_DAYS,
            audit_retention_days: AUDIT_RETENTION_DAYS,
        }
    }

    /// The token endpoint URL (the `aud` of JWT-bearer assertions, RFC 7523 §3).
    pub fn token_endpoint(&self) -> String {
        format!("{}/accounts/api/v2/oauth2/token", self.issuer)
    }
}

/// Failure counters shared by every password and secret check (checklist BF-03).
#[derive(Debug)]
pub(crate) struct Throttles {
    /// Keyed `client:<id>` and `user:<username>`.
    pub(crate) accounts: Throttle,
    /// Keyed by source IP address.
    pub(crate) addresses: Throttle,
}

/// The Keyhouse service: storage, clock, live sessions and settings, shared by all requests.
pub struct Keyhouse {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sessions: Arc<SessionTable>,
    pub(crate) apps: Arc<AppCache>,
    /// Users, memberships, trees and environments in memory (single node only).
    pub(crate) directory: Directory,
    pub(crate) throttles: Throttles,
    /// Group-commit writer for issued tokens.
    pub(crate) token_writer: TokenWriter,
    /// Argon2id with bounded concurrency.
    pub(crate) passwords: Passwords,
    /// A real Argon2id hash of a random password, verified against when the
    /// username is unknown so both failures cost the same time.
    pub(crate) dummy_hash: String,
    /// Compared against when a client id is unknown, for the same reason.
    pub(crate) dummy_secret: SecretHash,
    pub(crate) settings: CoreSettings,
    /// ID-token signing keys, replaced as a whole on rotation.
    pub(crate) keys: std::sync::RwLock<Arc<KeyRing>>,
    /// MFA policy and enrollment facts shown by `/me` (single node only).
    pub(crate) mfa_cache: mfa_cache::MfaCache,
    /// Rendered `/me` answers (single node only).
    pub(crate) me_cache: me_cache::MeCache,
}

impl Keyhouse {
    /// Builds the service and loads every live token into memory, so validation
    /// never has to read storage.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: CoreSettings,
    ) -> CoreResult<Self> {
        let passwords = Passwords::new(settings.password_policy);
        let dummy_hash = passwords.hash(crate::authn::token::mint().secret).await?;
        let sessions = Arc::new(SessionTable::new());
        let apps = Arc::new(AppCache::default());
        // Subscribe before loading, so no revocation falls between the two.
        if let Some(changes) = store.subscribe_invalidations().await? {
            tokio::spawn(follow_invalidations(
                changes,
                sessions.clone(),
                apps.clone(),
            ));
        }
        let now = clock.now();
        store
            .for_each_live_token(now, &mut |record| sessions.insert(record))
            .await?;
        tracing::info!(live_tokens = sessions.len(), "session table loaded");
        let keys = oidc::load_or_create_keys(store.as_ref(), now).await?;
        Ok(Self {
            keys: std::sync::RwLock::new(Arc::new(keys)),
            directory: Directory::new(!store.is_shared()),
            mfa_cache: mfa_cache::MfaCache::new(!store.is_shared()),
            me_cache: me_cache::MeCache::new(!store.is_shared()),
            passwords,
            token_writer: TokenWriter::spawn(store.clone()),
            store,
            clock,
            sessions,
            apps,
            throttles: Throttles {
                accounts: Throttle::new(ThrottlePolicy::PER_ACCOUNT),
                addresses: Throttle::new(ThrottlePolicy::PER_ADDRESS),
            },
            dummy_hash,
            dummy_secret: crate::oauth::secret::generate().hash,
            settings,
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
        let tokens = self.store.purge_expired_tokens(now).await?;
        let grants = self.store.purge_expired_grants(now).await?;
        let mfa = self.store.purge_expired_mfa_challenges(now).await?;
        Ok(tokens + grants + mfa)
    }

    /// The figures `/metrics` exports (issue 7): session-table lookups, live
    /// tokens and group-commit batches. Cheap enough for every scrape.
    pub fn metrics(&self) -> crate::metrics::CoreMetrics {
        let (session_hits, session_misses) = self.sessions.lookups();
        let writer = self.token_writer.metrics();
        crate::metrics::CoreMetrics {
            session_hits,
            session_misses,
            live_tokens: self.sessions.len() as u64,
            token_batches: writer.batch_sizes.snapshot(),
            failed_token_batches: writer
                .failed_batches
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The settings the service runs with.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }

    /// An app with its scopes, from memory or, on a miss, from storage.
    pub async fn cached_app(&self, client_id: &str) -> CoreResult<Option<Arc<CachedApp>>> {
        if let Some(hit) = self.apps.get(client_id) {
            return Ok(Some(hit));
        }
        let epoch = self.apps.epoch();
        let Some(app) = self.store.find_app(client_id).await? else {
            return Ok(None);
        };
        let grants = self.store.list_app_scopes(client_id).await?;
        let entry = Arc::new(CachedApp { app, grants });
        self.apps.insert_if_current(epoch, entry.clone());
        Ok(Some(entry))
    }

    /// The caller as an actor: a user with memberships, or an app with its
    /// current scopes. A user disabled or an app removed since the token was
    /// issued makes the token invalid.
    pub(crate) async fn actor(&self, principal: &Principal) -> CoreResult<Actor> {
        if let Some(user_id) = principal.user_id {
            let user = self
                .load_user(user_id)
                .await?
                .filter(|u| u.enabled)
                .ok_or(CoreError::InvalidToken)?;
            let memberships = self.load_memberships(user.id).await?.as_ref().clone();
            let delegated_scopes = match &principal.client_id {
                None => None,
                Some(client_id) => Some(self.delegated_scopes(client_id, principal).await?),
            };
            return Ok(Actor::User(UserActor {
                user,
                memberships,
                delegated_scopes,
            }));
        }
        let client_id = principal
            .client_id
            .as_deref()
            .ok_or(CoreError::InvalidToken)?;
        let cached = self
            .cached_app(client_id)
            .await?
            .filter(|c| c.app.enabled)
            .ok_or(CoreError::InvalidToken)?;
        let root_id = self
            .load_root_of(cached.app.org_id)
            .await?
            .ok_or(CoreError::InvalidToken)?;
        Ok(Actor::App(AppActor {
            app: cached.app.clone(),
            grants: cached.grants.clone(),
            root_id,
        }))
    }

    /// The scopes a delegated token may use now: those granted to it that the
    /// app still holds (removing a scope from the app takes effect at once).
    async fn delegated_scopes(
        &self,
        client_id: &str,
        principal: &Principal,
    ) -> CoreResult<Vec<String>> {
        let app = self
            .cached_app(client_id)
            .await?
            .filter(|c| c.app.enabled)
            .ok_or(CoreError::InvalidToken)?;
        Ok(principal
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| app.app.scopes.iter().any(|held| held == s))
            .map(str::to_owned)
            .collect())
    }

    /// The tree that `org` belongs to, or the no-access refusal when it does not
    /// exist or is in another tenant's tree.
    async fn tree_of(&self, actor: &Actor, org: OrgId) -> CoreResult<Arc<OrgTree>> {
        match self.load_root_of(org).await? {
            Some(root) if root == actor.root_id() => self.load_tree(root).await,
            _ => Err(crate::access::permissions::no_access(org)),
        }
    }

    /// A user, from the directory cache or storage.
    pub(crate) async fn load_user(&self, id: UserId) -> CoreResult<Option<User>> {
        if let Some(hit) = self.directory.user(id) {
            return Ok(Some(hit));
        }
        let epoch = self.directory.epoch();
        let found = self.store.find_user(id).await?;
        if let Some(user) = &found {
            self.directory.keep_user(epoch, user);
        }
        Ok(found)
    }

    /// A user's memberships, from the directory cache or storage.
    pub(crate) async fn load_memberships(&self, id: UserId) -> CoreResult<Arc<Vec<Membership>>> {
        if let Some(hit) = self.directory.memberships(id) {
            return Ok(hit);
        }
        let epoch = self.directory.epoch();
        let list = Arc::new(self.store.list_memberships(id).await?);
        self.directory.keep_memberships(epoch, id, list.clone());
        Ok(list)
    }

    /// The whole tree under `root`, from the directory cache or storage.
    pub(crate) async fn load_tree(&self, root: OrgId) -> CoreResult<Arc<OrgTree>> {
        if let Some(hit) = self.directory.tree(root) {
            return Ok(hit);
        }
        let epoch = self.directory.epoch();
        let tree = Arc::new(OrgTree::new(self.store.list_tree(root).await?));
        self.directory.keep_tree(epoch, root, tree.clone());
        Ok(tree)
    }

    /// The root of the tree `org` belongs to, if `org` exists.
    pub(crate) async fn load_root_of(&self, org: OrgId) -> CoreResult<Option<OrgId>> {
        if let Some(root) = self.directory.root_of(org) {
            return Ok(Some(root));
        }
        Ok(self.store.find_organization(org).await?.map(|o| o.root_id))
    }

    /// Every environment of `org` (up to [`ENVIRONMENTS_HELD`]), cached.
    pub(crate) async fn load_environments(&self, org: OrgId) -> CoreResult<Arc<Vec<Environment>>> {
        if let Some(hit) = self.directory.environments(org) {
            return Ok(hit);
        }
        let epoch = self.directory.epoch();
        let list = Arc::new(
            self.store
                .list_environments(org, 0, ENVIRONMENTS_HELD)
                .await?
                .data,
        );
        self.directory.keep_environments(epoch, org, list.clone());
        Ok(list)
    }

    /// Forgets an app and every in-memory token issued to it.
    pub(crate) fn forget_app(&self, client_id: &str) {
        self.apps.invalidate(client_id);
        self.sessions.remove_client(client_id);
    }
}

/// Applies other nodes' changes to this node's memory until the store closes the stream.
async fn follow_invalidations(
    mut changes: InvalidationReceiver,
    sessions: Arc<SessionTable>,
    apps: Arc<AppCache>,
) {
    while let Some(change) = changes.recv().await {
        match change {
            Invalidation::TokenRevoked(hash) => sessions.remove(&hash),
            Invalidation::AppChanged(client_id) => {
                apps.invalidate(&client_id);
                // Tokens still in storage come back on the next lookup.
                sessions.remove_client(&client_id);
            }
            Invalidation::Everything => {
                sessions.clear();
                apps.clear();
            }
        }
    }
}
