//! Identity providers per organization and sign-in through them (issue 6 §1,
//! §4): managing providers, the login-domain page, starting a federated
//! sign-in, and finishing it with just-in-time provisioning and a browser
//! session opened exactly as a password sign-in opens one.

use std::net::IpAddr;

use super::{Keyhouse, NewBrowserSession, Principal};
use crate::access::organization::Organization;
use crate::access::user::{parse_profile_field, parse_username, username_key};
use crate::access::{Action, Actor, Membership, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::mint;
use crate::error::{CoreError, CoreResult};
use crate::federation::{
    parse_login_domain, FederationFailure, IdentityProvider, ProviderId, ProviderInput,
    ProviderLink, VerifiedClaims, CALLBACK_PATH,
};
use crate::ids::{OrgId, UserId};
use crate::store::StoreError;
use crate::time_fmt::Timestamp;

/// Longest authorization request carried through a federated sign-in.
pub const REQUEST_MAX_BYTES: usize = 8 * 1024;
/// Longest upstream `sub` accepted (OIDC Core §2: at most 255 ASCII characters).
const SUBJECT_MAX_CHARS: usize = 255;
/// Longest failure detail written to the audit log.
const DETAIL_MAX_CHARS: usize = 500;

/// A federated sign-in just started: where to send the browser, and the
/// cookie that binds the sign-in to this browser.
pub struct FederationStart {
    /// The upstream's authorization URL.
    pub redirect: String,
    /// The browser-binding cookie value (only its hash is stored).
    pub binding_cookie: String,
    /// How long the binding cookie (and the pending sign-in) lives.
    pub max_age_secs: i64,
}

impl std::fmt::Debug for FederationStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationStart")
            .field("redirect", &self.redirect)
            .field("binding_cookie", &"<redacted>")
            .finish()
    }
}

/// What the upstream sent back to the callback, and the binding cookie.
#[derive(Clone, Copy, Default)]
pub struct FederationCallback<'a> {
    /// The `state` parameter.
    pub state: Option<&'a str>,
    /// The `code` parameter.
    pub code: Option<&'a str>,
    /// The upstream's `error` parameter (RFC 6749 §4.1.2.1).
    pub error: Option<&'a str>,
    /// The upstream's `iss` parameter (RFC 9207), when it sends one.
    pub iss: Option<&'a str>,
    /// The browser-binding cookie set by the start, if the browser sent it.
    pub binding_cookie: Option<&'a str>,
}

/// A finished federated sign-in: the new browser session, and the
/// authorization request to resume (empty: none).
#[derive(Debug)]
pub struct FederatedSignIn {
    /// The browser session to set as the session cookie.
    pub session: NewBrowserSession,
    /// The encoded authorization request to resume.
    pub request: String,
}

/// What `/accounts/login/{orgDomain}` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginDomainPage {
    /// The organization's name, shown on the page.
    pub org_name: String,
    /// The providers of the organization and its business groups.
    pub providers: Vec<ProviderLink>,
}

fn not_found() -> CoreError {
    CoreError::NotFound("This resource does not exist".to_owned())
}

/// Whether a sign-in page can start a sign-in through `provider` (a SAML
/// provider needs an SSO URL for SP-initiated sign-in).
fn offered(provider: &IdentityProvider) -> bool {
    provider.saml().is_none_or(|s| s.sso_url.is_some())
}

fn link(provider: IdentityProvider) -> ProviderLink {
    ProviderLink {
        start_path: crate::federation::start_path(&provider),
        id: provider.id,
        name: provider.name,
    }
}

/// An audit event about a provider, by whoever changed it.
fn change_event(
    actor: Option<&Actor>,
    now: Timestamp,
    action: &str,
    provider: &IdentityProvider,
) -> AuditEvent {
    let mut event = AuditEvent::new(now, action, "identity_provider")
        .org(provider.org_id)
        .object(provider.id.to_string())
        .with("name", provider.name.clone())
        .with("type", provider.protocol.wire_name());
    if let Some(actor) = actor {
        event = event.user(actor.acting_user_id());
        if let Actor::App(app) = actor {
            event = event.client(&app.app.client_id);
        }
    }
    event
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// First name, last name and email from the upstream's claims; a claim that
/// is absent or not a valid profile field is left out (the field keeps its value).
struct ClaimedProfile {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

impl ClaimedProfile {
    fn of(provider: &IdentityProvider, claims: &VerifiedClaims) -> Self {
        let mapping = provider.claims();
        let field = |name: &str, claim: &str| {
            claims
                .text(claim)
                .and_then(|v| parse_profile_field(name, &v).ok())
        };
        Self {
            first_name: field("firstName", &mapping.first_name),
            last_name: field("lastName", &mapping.last_name),
            email: field("email", &mapping.email),
        }
    }

    /// `user` with the claimed fields; `None` when nothing changes.
    fn applied_to(&self, user: &User, now: Timestamp) -> Option<User> {
        let mut updated = user.clone();
        for (value, slot) in [
            (&self.first_name, &mut updated.first_name),
            (&self.last_name, &mut updated.last_name),
            (&self.email, &mut updated.email),
        ] {
            if let Some(v) = value {
                slot.clone_from(v);
            }
        }
        if updated == *user {
            return None;
        }
        updated.updated_at = now;
        Some(updated)
    }
}

/// `federation.login`: who signed in through which provider.
pub(super) fn federation_login_event(
    provider: &IdentityProvider,
    user: &User,
    claims: &VerifiedClaims,
    provisioned: bool,
    now: Timestamp,
    source: Option<IpAddr>,
) -> AuditEvent {
    AuditEvent::new(now, "federation.login", "user")
        .org(provider.org_id)
        .user(user.id)
        .object(user.id.to_string())
        .source(source)
        .with("provider_id", provider.id.to_string())
        .with("protocol", provider.protocol.wire_name())
        .with("subject", claims.subject.clone())
        .with("provisioned", provisioned)
}

impl Keyhouse {
    /// `<issuer>/accounts/login/oidc/callback`: the redirect URI to register
    /// at every upstream provider.
    pub fn federation_callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.settings.issuer)
    }

    /// `GET /accounts/api/organizations/{orgId}/identityProviders`.
    pub async fn identity_providers(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> CoreResult<Vec<IdentityProvider>> {
        self.authorize(principal, org, Action::ViewIdentityProviders)
            .await?;
        Ok(self.store.list_identity_providers(org).await?)
    }

    /// `GET …/identityProviders/{providerId}`: 404 for a provider of another organization.
    pub async fn identity_provider(
        &self,
        principal: &Principal,
        org: OrgId,
        id: ProviderId,
    ) -> CoreResult<IdentityProvider> {
        self.authorize(principal, org, Action::ViewIdentityProviders)
            .await?;
        self.provider_of(org, id).await
    }

    /// `POST …/identityProviders`: an organization administrator adds a provider.
    pub async fn create_identity_provider(
        &self,
        principal: &Principal,
        org: OrgId,
        input: ProviderInput,
    ) -> CoreResult<IdentityProvider> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::ManageIdentityProviders)
            .await?;
        let now = self.clock.now();
        let provider = input.create(org, now)?;
        let event = change_event(Some(&actor), now, "identity_provider.created", &provider);
        self.store
            .insert_identity_provider(&provider, &[event])
            .await?;
        Ok(provider)
    }

    /// `keyhouse admin add-oidc-provider`: the operator adds a provider to any organization.
    pub async fn add_identity_provider(
        &self,
        org: OrgId,
        input: ProviderInput,
    ) -> CoreResult<IdentityProvider> {
        self.store
            .find_organization(org)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("Organization {org} not found")))?;
        let now = self.clock.now();
        let provider = input.create(org, now)?;
        let event = change_event(None, now, "identity_provider.created", &provider);
        self.store
            .insert_identity_provider(&provider, &[event])
            .await?;
        Ok(provider)
    }

    /// `PATCH …/identityProviders/{providerId}`: every check passes before anything is written.
    pub async fn update_identity_provider(
        &self,
        principal: &Principal,
        org: OrgId,
        id: ProviderId,
        input: ProviderInput,
    ) -> CoreResult<IdentityProvider> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::ManageIdentityProviders)
            .await?;
        let existing = self.provider_of(org, id).await?;
        let now = self.clock.now();
        let updated = input.apply(&existing, now)?;
        let mut event = change_event(Some(&actor), now, "identity_provider.updated", &updated);
        if updated.secret != existing.secret {
            event = event.with("secret_changed", true);
        }
        self.store
            .update_identity_provider(&updated, &[event])
            .await?;
        Ok(updated)
    }

    /// `DELETE …/identityProviders/{providerId}`: the provider and its links
    /// go; the users it provisioned stay (they can no longer sign in through it).
    pub async fn delete_identity_provider(
        &self,
        principal: &Principal,
        org: OrgId,
        id: ProviderId,
    ) -> CoreResult<()> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::ManageIdentityProviders)
            .await?;
        let existing = self.provider_of(org, id).await?;
        let event = change_event(
            Some(&actor),
            self.clock.now(),
            "identity_provider.deleted",
            &existing,
        );
        match self.store.delete_identity_provider(id, &[event]).await {
            Err(StoreError::NotFound) => Err(not_found()),
            other => Ok(other?),
        }
    }

    async fn provider_of(&self, org: OrgId, id: ProviderId) -> CoreResult<IdentityProvider> {
        self.store
            .find_identity_provider(id)
            .await?
            .filter(|p| p.org_id == org)
            .ok_or_else(not_found)
    }

    /// Sets (or, with `None` or an empty string, clears) an organization's
    /// login domain; needs the right to edit the organization.
    pub async fn set_login_domain(
        &self,
        principal: &Principal,
        org: OrgId,
        domain: Option<&str>,
    ) -> CoreResult<()> {
        self.authorize(principal, org, Action::EditOrganization)
            .await?;
        let domain = domain
            .filter(|d| !d.trim().is_empty())
            .map(parse_login_domain)
            .transpose()?;
        self.store
            .set_organization_domain(org, domain.as_deref(), self.clock.now())
            .await?;
        self.directory.clear();
        Ok(())
    }

    /// The "sign in with" buttons for an app of `app_org`: every provider of
    /// the app's organization tree.
    pub(crate) async fn sign_in_providers(&self, app_org: OrgId) -> CoreResult<Vec<ProviderLink>> {
        let Some(root) = self.load_root_of(app_org).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .list_identity_providers_in_tree(root)
            .await?
            .into_iter()
            .filter(offered)
            .map(link)
            .collect())
    }

    /// `GET /accounts/login/{orgDomain}`: the organization's name and its
    /// providers (with those of its business groups); `None` for an unknown domain.
    pub async fn login_domain_page(&self, domain: &str) -> CoreResult<Option<LoginDomainPage>> {
        let Some((org, providers)) = self.providers_of_domain(domain).await? else {
            return Ok(None);
        };
        Ok(Some(LoginDomainPage {
            org_name: org.name,
            providers: providers.into_iter().filter(offered).map(link).collect(),
        }))
    }

    /// The organization with login domain `domain`, and the providers of it
    /// and its business groups; `None` for an unknown domain.
    pub(super) async fn providers_of_domain(
        &self,
        domain: &str,
    ) -> CoreResult<Option<(Organization, Vec<IdentityProvider>)>> {
        let Ok(domain) = parse_login_domain(domain) else {
            return Ok(None);
        };
        let Some(org) = self.store.find_organization_by_domain(&domain).await? else {
            return Ok(None);
        };
        let tree = self.load_tree(org.root_id).await?;
        let below = tree.subtree(org.id);
        let providers = self
            .store
            .list_identity_providers_in_tree(org.root_id)
            .await?
            .into_iter()
            .filter(|p| p.org_id == org.id || below.contains(&p.org_id))
            .collect();
        Ok(Some((org, providers)))
    }

    /// Signs in the person an upstream vouched for: the user linked to
    /// (provider, `sub`), or a new user of the provider's organization named
    /// by the username mapping (never an existing user that is not linked:
    /// no silent takeover). Names and email follow the claims. Opens a
    /// browser session exactly as a password sign-in does.
    pub async fn federated_sign_in(
        &self,
        provider: &IdentityProvider,
        claims: &VerifiedClaims,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<NewBrowserSession, FederationFailure>> {
        let (user, provisioned) = match self.federated_user(provider, claims, source).await? {
            Ok(found) => found,
            Err(failure) => return Ok(Err(failure)),
        };
        let now = self.clock.now();
        let minutes = self.session_minutes(&user).await?;
        let token = mint();
        let session = BrowserSession {
            hash: token.hash,
            user_id: user.id,
            auth_time: now,
            created_at: now,
            expires_at: now.plus_minutes(minutes),
        };
        self.store.insert_browser_session(&session).await?;
        let event = federation_login_event(provider, &user, claims, provisioned, now, source)
            .with("via", "browser");
        self.store.insert_audit_events(&[event]).await?;
        self.store.record_login(user.id, now).await?;
        self.directory.forget_user(user.id);
        Ok(Ok(NewBrowserSession {
            cookie: token.secret,
            max_age_secs: minutes * 60,
        }))
    }

    /// The user an upstream vouched for: the one linked to (provider, `sub`),
    /// or a new user of the provider's organization named by the username
    /// mapping (never an existing user that is not linked: no silent
    /// takeover), with names and email following the claims. `bool`: newly
    /// provisioned.
    pub(super) async fn federated_user(
        &self,
        provider: &IdentityProvider,
        claims: &VerifiedClaims,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<(User, bool), FederationFailure>> {
        let subject = claims.subject.as_str();
        if subject.is_empty() || subject.chars().count() > SUBJECT_MAX_CHARS {
            return Ok(Err(FederationFailure::UpstreamFailed));
        }
        let now = self.clock.now();
        let profile = ClaimedProfile::of(provider, claims);
        match self.store.find_federated_user(provider.id, subject).await? {
            Some(id) => Ok(self
                .linked_user(id, &profile, now)
                .await?
                .map(|user| (user, false))),
            None => {
                self.provision(provider, claims, &profile, now, source)
                    .await
            }
        }
    }

    /// The user already linked to the upstream identity, with the profile
    /// brought up to date.
    async fn linked_user(
        &self,
        id: UserId,
        profile: &ClaimedProfile,
        now: Timestamp,
    ) -> CoreResult<Result<User, FederationFailure>> {
        let user = self
            .store
            .find_user(id)
            .await?
            .ok_or_else(|| CoreError::Internal("federated identity without user".to_owned()))?;
        if !user.enabled {
            return Ok(Err(FederationFailure::UserDisabled));
        }
        let Some(updated) = profile.applied_to(&user, now) else {
            return Ok(Ok(user));
        };
        self.store.update_federated_profile(&updated, &[]).await?;
        self.directory.forget_user(id);
        Ok(Ok(updated))
    }

    /// Just-in-time provisioning of a first-time federated user; `bool` is
    /// true when the user was created (false: a concurrent callback did it).
    async fn provision(
        &self,
        provider: &IdentityProvider,
        claims: &VerifiedClaims,
        profile: &ClaimedProfile,
        now: Timestamp,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<(User, bool), FederationFailure>> {
        let subject = claims.subject.as_str();
        let wanted = claims
            .text(&provider.claims().username)
            .unwrap_or_else(|| subject.to_owned());
        let Ok(username) = parse_username(&wanted) else {
            return Ok(Err(FederationFailure::InvalidUsername(wanted)));
        };
        if self
            .store
            .find_user_by_username_key(&username_key(&username))
            .await?
            .is_some()
        {
            return Ok(Err(FederationFailure::UsernameTaken(username)));
        }
        let org: Organization = self
            .store
            .find_organization(provider.org_id)
            .await?
            .ok_or_else(|| CoreError::Internal("provider without organization".to_owned()))?;
        let user = User {
            id: UserId::generate(),
            org_id: org.root_id,
            username,
            first_name: profile.first_name.clone().unwrap_or_default(),
            last_name: profile.last_name.clone().unwrap_or_default(),
            email: profile.email.clone().unwrap_or_default(),
            phone_number: None,
            // Federated users have no Keyhouse password: they sign in upstream.
            password_hash: None,
            enabled: true,
            created_at: now,
            updated_at: now,
            last_login: None,
        };
        let membership = Membership {
            user_id: user.id,
            org_id: provider.org_id,
            role: Role::Member,
        };
        let event = AuditEvent::new(now, "federation.user_provisioned", "user")
            .org(provider.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
            .with("provider_id", provider.id.to_string())
            .with("subject", subject)
            .with("username", user.username.clone());
        match self
            .store
            .insert_federated_user(&user, &membership, provider.id, subject, &[event])
            .await
        {
            Ok(()) => {
                self.directory.clear();
                Ok(Ok((user, true)))
            }
            Err(StoreError::Conflict(_)) => {
                // A concurrent callback for the same person won the race, or
                // the name was taken meanwhile.
                match self.store.find_federated_user(provider.id, subject).await? {
                    Some(id) => Ok(self
                        .linked_user(id, profile, now)
                        .await?
                        .map(|u| (u, false))),
                    None => Ok(Err(FederationFailure::UsernameTaken(user.username))),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records a refused federated sign-in (`federation.failed`).
    pub(super) async fn federation_failed(
        &self,
        provider: &IdentityProvider,
        failure: &FederationFailure,
        detail: Option<&str>,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        tracing::warn!(
            provider = %provider.id,
            reason = failure.reason(),
            detail = detail.unwrap_or_default(),
            "federated sign-in refused"
        );
        let mut event = AuditEvent::new(self.clock.now(), "federation.failed", "identity_provider")
            .org(provider.org_id)
            .object(provider.id.to_string())
            .source(source)
            .failed()
            .with("reason", failure.reason());
        if let FederationFailure::UsernameTaken(name) | FederationFailure::InvalidUsername(name) =
            failure
        {
            event = event.with("username", cut(name, 128));
        }
        if let FederationFailure::UpstreamRefused(code) = failure {
            event = event.with("error", code.clone());
        }
        if let Some(detail) = detail {
            event = event.with("detail", cut(detail, DETAIL_MAX_CHARS));
        }
        Ok(self.store.insert_audit_events(&[event]).await?)
    }
}
