//! Identity providers per organization and sign-in through them (issue 6 §1,
//! §4): managing providers, the login-domain page, starting a federated
//! sign-in, and finishing it with just-in-time provisioning and a browser
//! session opened exactly as a password sign-in opens one.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Keyhouse, NewBrowserSession, Principal};
use crate::access::organization::Organization;
use crate::access::user::{parse_profile_field, parse_username, username_key};
use crate::access::{Action, Actor, Membership, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::federation::{
    parse_login_domain, FederationFailure, FederationState, IdentityProvider, ProviderId,
    ProviderInput, ProviderLink, UpstreamAuthRequest, UpstreamCodeExchange, UpstreamOidc,
    VerifiedClaims, CALLBACK_PATH, FEDERATION_STATE_LIFETIME_MS,
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

fn link(provider: IdentityProvider) -> ProviderLink {
    ProviderLink {
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

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2).
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
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
        let mapping = &provider.oidc().claims;
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
            .map(link)
            .collect())
    }

    /// `GET /accounts/login/{orgDomain}`: the organization's name and its
    /// providers (with those of its business groups); `None` for an unknown domain.
    pub async fn login_domain_page(&self, domain: &str) -> CoreResult<Option<LoginDomainPage>> {
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
            .map(link)
            .collect();
        Ok(Some(LoginDomainPage {
            org_name: org.name,
            providers,
        }))
    }

    /// `GET /accounts/login/oidc/{providerId}/start`: remembers a new pending
    /// sign-in (state, nonce, PKCE verifier, the request to resume, bound to
    /// this browser) and returns the upstream URL to send the browser to.
    pub async fn federation_start(
        &self,
        upstream: &dyn UpstreamOidc,
        provider_id: &str,
        request: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<FederationStart, FederationFailure>> {
        if request.len() > REQUEST_MAX_BYTES {
            return Err(CoreError::Validation(
                "The authorization request is too long".to_owned(),
            ));
        }
        let Ok(id) = ProviderId::parse(provider_id) else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let Some(provider) = self.store.find_identity_provider(id).await? else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let now = self.clock.now();
        // Abandoned sign-ins go here rather than in a background job.
        self.store.purge_expired_federation_states(now).await?;
        let (state, nonce, verifier, binding) = (mint(), mint(), mint(), mint());
        let redirect_uri = self.federation_callback_url();
        let challenge = pkce_challenge(&verifier.secret);
        let url = upstream
            .authorization_url(
                provider.oidc(),
                UpstreamAuthRequest {
                    redirect_uri: &redirect_uri,
                    state: &state.secret,
                    nonce: &nonce.secret,
                    pkce_challenge: &challenge,
                },
            )
            .await;
        let url = match url {
            Ok(url) => url,
            Err(err) => {
                let failure = FederationFailure::UpstreamFailed;
                self.federation_failed(&provider, &failure, Some(&err.to_string()), source)
                    .await?;
                return Ok(Err(failure));
            }
        };
        let record = FederationState {
            state_hash: state.hash,
            provider_id: provider.id,
            binding_hash: binding.hash,
            nonce: nonce.secret,
            pkce_verifier: verifier.secret,
            request: request.to_owned(),
            created_at: now,
            expires_at: Timestamp(now.0 + FEDERATION_STATE_LIFETIME_MS),
        };
        self.store.insert_federation_state(&record).await?;
        Ok(Ok(FederationStart {
            redirect: url,
            binding_cookie: binding.secret,
            max_age_secs: FEDERATION_STATE_LIFETIME_MS / 1000,
        }))
    }

    /// `GET /accounts/login/oidc/callback`: consumes the pending sign-in (once),
    /// checks it belongs to this browser, exchanges the code, validates the ID
    /// token, and signs the person in (provisioning them on first visit).
    pub async fn federation_finish(
        &self,
        upstream: &dyn UpstreamOidc,
        callback: FederationCallback<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<FederatedSignIn, FederationFailure>> {
        let Some(state) = callback
            .state
            .filter(|s| !s.is_empty() && s.len() <= TOKEN_MAX_LEN)
        else {
            return Ok(Err(FederationFailure::InvalidState));
        };
        // Unknown states are not audited: anybody can send one, and each
        // would cost a write.
        let Some(pending) = self
            .store
            .consume_federation_state(&TokenHash::of(state))
            .await?
        else {
            return Ok(Err(FederationFailure::InvalidState));
        };
        let Some(provider) = self
            .store
            .find_identity_provider(pending.provider_id)
            .await?
        else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        match self
            .finish_pending(upstream, &provider, &pending, callback, source)
            .await?
        {
            Ok(session) => Ok(Ok(FederatedSignIn {
                session,
                request: pending.request,
            })),
            Err((failure, detail)) => {
                self.federation_failed(&provider, &failure, detail.as_deref(), source)
                    .await?;
                Ok(Err(failure))
            }
        }
    }

    /// The checks and the sign-in after a pending sign-in was consumed; a
    /// failure comes with a detail for the audit log.
    async fn finish_pending(
        &self,
        upstream: &dyn UpstreamOidc,
        provider: &IdentityProvider,
        pending: &FederationState,
        callback: FederationCallback<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<NewBrowserSession, (FederationFailure, Option<String>)>> {
        let now = self.clock.now();
        if pending.expires_at <= now {
            return Ok(Err((
                FederationFailure::InvalidState,
                Some("expired".to_owned()),
            )));
        }
        let bound = callback
            .binding_cookie
            .filter(|c| !c.is_empty() && c.len() <= TOKEN_MAX_LEN)
            .is_some_and(|c| bool::from(TokenHash::of(c).0.ct_eq(&pending.binding_hash.0)));
        if !bound {
            return Ok(Err((
                FederationFailure::InvalidState,
                Some("started in another browser".to_owned()),
            )));
        }
        let settings = provider.oidc();
        // RFC 9207: an `iss` that names another issuer is a mix-up attack.
        if callback.iss.is_some_and(|iss| iss != settings.issuer) {
            return Ok(Err((
                FederationFailure::UpstreamFailed,
                Some("iss parameter names another issuer".to_owned()),
            )));
        }
        if let Some(error) = callback.error {
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect();
            return Ok(Err((FederationFailure::UpstreamRefused(code), None)));
        }
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Ok(Err((
                FederationFailure::UpstreamFailed,
                Some("no code".to_owned()),
            )));
        };
        let redirect_uri = self.federation_callback_url();
        let exchanged = upstream
            .exchange_code(
                settings,
                provider.secret.as_ref(),
                UpstreamCodeExchange {
                    redirect_uri: &redirect_uri,
                    code,
                    pkce_verifier: &pending.pkce_verifier,
                    nonce: &pending.nonce,
                },
            )
            .await;
        let claims = match exchanged {
            Ok(claims) => claims,
            Err(err) => {
                return Ok(Err((
                    FederationFailure::UpstreamFailed,
                    Some(err.to_string()),
                )))
            }
        };
        Ok(self
            .federated_sign_in(provider, &claims, source)
            .await?
            .map_err(|f| (f, None)))
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
        let subject = claims.subject.as_str();
        if subject.is_empty() || subject.chars().count() > SUBJECT_MAX_CHARS {
            return Ok(Err(FederationFailure::UpstreamFailed));
        }
        let now = self.clock.now();
        let profile = ClaimedProfile::of(provider, claims);
        let linked = self.store.find_federated_user(provider.id, subject).await?;
        let (user, provisioned) = match linked {
            Some(id) => match self.linked_user(id, &profile, now).await? {
                Ok(user) => (user, false),
                Err(failure) => return Ok(Err(failure)),
            },
            None => match self
                .provision(provider, claims, &profile, now, source)
                .await?
            {
                Ok(found) => found,
                Err(failure) => return Ok(Err(failure)),
            },
        };
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
        let event = AuditEvent::new(now, "federation.login", "user")
            .org(provider.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
            .with("provider_id", provider.id.to_string())
            .with("subject", subject)
            .with("provisioned", provisioned);
        self.store.insert_audit_events(&[event]).await?;
        self.store.record_login(user.id, now).await?;
        self.directory.forget_user(user.id);
        Ok(Ok(NewBrowserSession {
            cookie: token.secret,
            max_age_secs: minutes * 60,
        }))
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
            .text(&provider.oidc().claims.username)
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
    async fn federation_failed(
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
