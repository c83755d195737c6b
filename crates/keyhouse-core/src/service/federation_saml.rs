//! Sign-in through an organization's SAML 2.0 identity provider (issue 6
//! §2, §3): `receive-id` for API tokens, the ACS for browser sessions
//! (IdP-initiated, and SP-initiated with an `AuthnRequest` over the
//! HTTP-Redirect binding), and the service provider's metadata.

use std::io::Write;
use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use subtle::ConstantTimeEq;

use super::federation::{
    federation_login_event, FederatedSignIn, FederationStart, REQUEST_MAX_BYTES,
};
use super::login::IssuedToken;
use super::{Keyhouse, NewBrowserSession};
use crate::access::{Membership, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::federation::saml::response::{ASSERTION, PROTOCOL};
use crate::federation::saml::xml::{parse, Element};
use crate::federation::saml::{decode_response, validate_parsed, Expected, SamlAssertion};
use crate::federation::{
    FederationFailure, FederationState, IdentityProvider, ProviderId, SamlSettings, VerifiedClaims,
    FEDERATION_STATE_LIFETIME_MS,
};
use crate::time_fmt::Timestamp;

/// The shared assertion consumer service (Anypoint's `receive-id`).
pub const SAML_ACS_PATH: &str = "/accounts/login/receive-id";
/// Keyhouse's SAML service-provider metadata.
pub const SAML_METADATA_PATH: &str = "/accounts/saml/metadata";

/// A `SAMLResponse` as posted, and where.
#[derive(Clone, Copy)]
pub struct SamlPost<'a> {
    /// The base64 `SAMLResponse`.
    pub response: &'a str,
    /// The absolute URL it was posted to (must be the `Destination` and
    /// `Recipient`).
    pub acs_url: &'a str,
    /// The provider named by the path (`…/providers/{id}/receive-id`).
    pub provider_id: Option<&'a str>,
    /// The organization domain named by the path.
    pub org_domain: Option<&'a str>,
    /// The browser-binding cookie of an SP-initiated sign-in, if sent.
    pub binding_cookie: Option<&'a str>,
}

/// What Keyhouse's service-provider metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderInfo {
    /// The entity id identity providers put in `Audience`.
    pub entity_id: String,
    /// Where they post responses.
    pub acs_url: String,
    /// Where they send logout requests.
    pub slo_url: String,
}

impl ServiceProviderInfo {
    /// The SAML 2.0 metadata an administrator gives the identity provider:
    /// entity id, the HTTP-POST ACS, logout, and that assertions must be signed.
    pub fn metadata_xml(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{}\">\n\
             <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" \
             protocolSupportEnumeration=\"{PROTOCOL}\">\n\
             <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{}\"/>\n\
             <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n\
             <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\n\
             </md:SPSSODescriptor>\n</md:EntityDescriptor>\n",
            xml_escape(&self.entity_id),
            xml_escape(&self.slo_url),
            xml_escape(&self.acs_url),
        )
    }
}

/// A response that passed validation, and for whom.
struct Accepted {
    provider: IdentityProvider,
    assertion: SamlAssertion,
    /// The authorization request to resume (SP-initiated), or empty.
    request: String,
}

fn rejected(why: impl ToString) -> FederationFailure {
    FederationFailure::AssertionRejected(why.to_string())
}

/// The issuer and `InResponseTo` of a parsed response, read before any check
/// to find the provider and the pending request; nothing else is trusted
/// until validation of the same tree has passed.
fn routing_fields(root: &Element) -> Option<(String, Option<String>)> {
    if !root.is(PROTOCOL, "Response") {
        return None;
    }
    let issuer = root
        .only_child(ASSERTION, "Issuer")
        .or_else(|| {
            root.only_child(ASSERTION, "Assertion")
                .and_then(|a| a.only_child(ASSERTION, "Issuer"))
        })?
        .text()
        .trim()
        .to_owned();
    Some((issuer, root.attr("InResponseTo").map(str::to_owned)))
}

/// The claims a SAML assertion makes, in the shape the provisioning code
/// reads (first value of each attribute; the groups attribute whole).
fn claims_of(settings: &SamlSettings, assertion: &SamlAssertion) -> VerifiedClaims {
    let mut claims = serde_json::Map::new();
    for (name, values) in &assertion.attributes {
        if let Some(first) = values.iter().find(|v| !v.trim().is_empty()) {
            claims.insert(name.clone(), serde_json::Value::String(first.clone()));
        }
    }
    if let Some(group) = &settings.group_attribute {
        let groups = assertion.attribute_values(group).to_vec();
        claims.insert("groups".to_owned(), serde_json::json!(groups));
    }
    VerifiedClaims {
        subject: assertion.name_id.clone(),
        claims,
    }
}

impl Keyhouse {
    /// Keyhouse's service-provider entity id (the issuer, unless a provider
    /// names another audience).
    pub fn saml_service_provider(&self) -> ServiceProviderInfo {
        let issuer = &self.settings().issuer;
        ServiceProviderInfo {
            entity_id: issuer.clone(),
            acs_url: format!("{issuer}{SAML_ACS_PATH}"),
            slo_url: format!("{issuer}/accounts/logout/receive-id"),
        }
    }

    /// `POST …/receive-id` with JSON: an API token for the person the
    /// assertion names (Anypoint: only unsolicited responses).
    pub async fn saml_api_token(
        &self,
        post: SamlPost<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<IssuedToken, FederationFailure>> {
        let accepted = match self.accept_saml(post, false, source).await? {
            Ok(accepted) => accepted,
            Err(failure) => return Ok(Err(failure)),
        };
        let (user, _) = match self.saml_user(&accepted, "api", source).await? {
            Ok(found) => found,
            Err(failure) => return Ok(Err(failure)),
        };
        Ok(Ok(self.issue_login_token(&user, None).await?))
    }

    /// `POST …/receive-id` from a browser: a browser session, and the
    /// authorization request to resume when Keyhouse started the sign-in.
    pub async fn saml_browser_sign_in(
        &self,
        post: SamlPost<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<FederatedSignIn, FederationFailure>> {
        let accepted = match self.accept_saml(post, true, source).await? {
            Ok(accepted) => accepted,
            Err(failure) => return Ok(Err(failure)),
        };
        let (user, minutes) = match self.saml_user(&accepted, "browser", source).await? {
            Ok(found) => found,
            Err(failure) => return Ok(Err(failure)),
        };
        let now = self.clock.now();
        let token = mint();
        let session = BrowserSession {
            hash: token.hash,
            user_id: user.id,
            auth_time: now,
            created_at: now,
            expires_at: now.plus_minutes(minutes),
        };
        self.store.insert_browser_session(&session).await?;
        Ok(Ok(FederatedSignIn {
            session: NewBrowserSession {
                cookie: token.secret,
                max_age_secs: minutes * 60,
            },
            request: accepted.request,
        }))
    }

    /// The user of an accepted assertion (provisioned on first visit), with
    /// the `federation.login` event written; also the org session timeout.
    async fn saml_user(
        &self,
        accepted: &Accepted,
        via: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<(User, i64), FederationFailure>> {
        let Some(settings) = accepted.provider.saml() else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let claims = claims_of(settings, &accepted.assertion);
        let (user, provisioned) = match self
            .federated_user(&accepted.provider, &claims, source)
            .await?
        {
            Ok(found) => found,
            Err(failure) => {
                self.federation_failed(&accepted.provider, &failure, None, source)
                    .await?;
                return Ok(Err(failure));
            }
        };
        let now = self.clock.now();
        if let Some(group) = &settings.group_attribute {
            let groups = accepted.assertion.attribute_values(group);
            if let Some(role) = settings.role_for(groups) {
                self.apply_group_role(&accepted.provider, &user, role, now, source)
                    .await?;
            }
        }
        let mut event =
            federation_login_event(&accepted.provider, &user, &claims, provisioned, now, source)
                .with("via", via)
                .with("assertion_id", accepted.assertion.id.clone());
        if let Some(index) = &accepted.assertion.session_index {
            event = event.with("session_index", index.clone());
        }
        self.store.insert_audit_events(&[event]).await?;
        let minutes = self.session_minutes(&user).await?;
        Ok(Ok((user, minutes)))
    }

    /// Sets the person's role in the provider's organization to what their
    /// groups say (`federation.role_mapped` when it changes).
    async fn apply_group_role(
        &self,
        provider: &IdentityProvider,
        user: &User,
        role: Role,
        now: Timestamp,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        let current = self
            .store
            .list_memberships(user.id)
            .await?
            .into_iter()
            .find(|m| m.org_id == provider.org_id)
            .map(|m| m.role);
        if current == Some(role) {
            return Ok(());
        }
        self.store
            .upsert_membership(&Membership {
                user_id: user.id,
                org_id: provider.org_id,
                role,
            })
            .await?;
        let event = AuditEvent::new(now, "federation.role_mapped", "user")
            .org(provider.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
            .with("provider_id", provider.id.to_string())
            .with("role", role.as_str());
        self.store.insert_audit_events(&[event]).await?;
        self.directory.clear();
        Ok(())
    }

    /// Finds the provider, validates the response against it, and spends
    /// the assertion id; every refusal after the provider is known is audited.
    async fn accept_saml(
        &self,
        post: SamlPost<'_>,
        browser: bool,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<Accepted, FederationFailure>> {
        // Refused responses count against the source address like failed
        // password logins (checklist BF-03): forging is expensive to try.
        let address = source.map(|ip| ip.to_string());
        if let Some(key) = &address {
            self.throttles
                .addresses
                .check(key, self.clock.now())
                .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })?;
        }
        let outcome = self.validate_saml_post(post, browser, source).await?;
        if let (Err(_), Some(key)) = (&outcome, &address) {
            self.throttles.addresses.failure(key, self.clock.now());
        }
        Ok(outcome)
    }

    /// [`Keyhouse::accept_saml`] without the throttle.
    async fn validate_saml_post(
        &self,
        post: SamlPost<'_>,
        browser: bool,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<Accepted, FederationFailure>> {
        let xml = match decode_response(post.response) {
            Ok(xml) => xml,
            Err(err) => return Ok(Err(rejected(err))),
        };
        let root = match parse(&xml) {
            Ok(root) => root,
            Err(err) => return Ok(Err(rejected(err))),
        };
        let Some((issuer, in_response_to)) = routing_fields(&root) else {
            return Ok(Err(rejected(
                "the message is not a SAML Response with an Issuer",
            )));
        };
        // SP-initiated: the pending sign-in names the provider and the request.
        let (pending, candidates) = match &in_response_to {
            Some(id) if browser => match self.pending_saml_request(id, post).await? {
                Ok((state, provider)) => (Some(state), vec![provider]),
                Err(failure) => return Ok(Err(failure)),
            },
            Some(_) => {
                return Ok(Err(rejected(
                    "receive-id takes unsolicited responses only (no InResponseTo)",
                )))
            }
            None => (None, self.saml_candidates(&post, &issuer).await?),
        };
        if candidates.is_empty() {
            return Ok(Err(FederationFailure::UnknownProvider));
        }
        let now = self.clock.now();
        let acs = [post.acs_url.to_owned()];
        let sp = self.saml_service_provider();
        let mut outcomes = Vec::new();
        for provider in candidates {
            let Some(settings) = provider.saml() else {
                continue;
            };
            let keys = settings.keys()?;
            let expected = Expected {
                idp_entity_id: &settings.issuer,
                keys: &keys,
                sp_entity_id: settings.audience.as_deref().unwrap_or(&sp.entity_id),
                acs_urls: &acs,
                in_response_to: in_response_to.as_deref(),
                now,
            };
            let outcome = validate_parsed(&root, &expected);
            outcomes.push((provider, outcome));
        }
        let accepted: Vec<usize> = (0..outcomes.len())
            .filter(|i| outcomes[*i].1.is_ok())
            .collect();
        let (provider, outcome) = match accepted.as_slice() {
            [one] => outcomes.swap_remove(*one),
            [] => match outcomes.into_iter().next() {
                Some(first) => first,
                None => return Ok(Err(FederationFailure::UnknownProvider)),
            },
            _ => {
                return Ok(Err(rejected(
                    "several organizations trust this identity provider; post to the provider's own receive-id URL",
                )))
            }
        };
        let assertion = match outcome {
            Ok(assertion) => assertion,
            Err(err) => {
                let failure = rejected(&err);
                let detail = err.to_string();
                self.federation_failed(&provider, &failure, Some(&detail), source)
                    .await?;
                return Ok(Err(failure));
            }
        };
        let keep_until =
            Timestamp(assertion.expires_at.0 + crate::federation::saml::response::CLOCK_SKEW_MS);
        let first_use = self
            .store
            .record_saml_assertion(provider.id, &assertion.id, keep_until, now)
            .await?;
        if !first_use {
            let failure = rejected("the assertion was already used");
            self.federation_failed(&provider, &failure, None, source)
                .await?;
            return Ok(Err(failure));
        }
        Ok(Ok(Accepted {
            provider,
            assertion,
            request: pending.map(|p| p.request).unwrap_or_default(),
        }))
    }

    /// The SAML providers a response may come from: the one the path names
    /// (inside the path's organization domain), or every one with its issuer.
    async fn saml_candidates(
        &self,
        post: &SamlPost<'_>,
        issuer: &str,
    ) -> CoreResult<Vec<IdentityProvider>> {
        let Some(raw) = post.provider_id else {
            return Ok(self
                .store
                .list_identity_providers_of_kind("saml")
                .await?
                .into_iter()
                .filter(|p| p.saml().is_some_and(|s| s.issuer == issuer))
                .collect());
        };
        let Ok(id) = ProviderId::parse(raw) else {
            return Ok(Vec::new());
        };
        let Some(provider) = self.store.find_identity_provider(id).await? else {
            return Ok(Vec::new());
        };
        if provider.saml().is_none() {
            return Ok(Vec::new());
        }
        if let Some(domain) = post.org_domain {
            // Tenant binding (SM-07): the provider must belong to the
            // domain's organization or one of its business groups.
            let in_domain = self
                .providers_of_domain(domain)
                .await?
                .is_some_and(|(_, all)| all.iter().any(|p| p.id == provider.id));
            if !in_domain {
                return Ok(Vec::new());
            }
        }
        Ok(vec![provider])
    }

    /// Consumes the pending SP-initiated sign-in a response answers, checks
    /// it was started in this browser, and returns it with its provider.
    async fn pending_saml_request(
        &self,
        request_id: &str,
        post: SamlPost<'_>,
    ) -> CoreResult<Result<(FederationState, IdentityProvider), FederationFailure>> {
        let Some(pending) = self
            .store
            .consume_federation_state(&TokenHash::of(request_id))
            .await?
        else {
            return Ok(Err(FederationFailure::InvalidState));
        };
        if pending.expires_at <= self.clock.now() {
            return Ok(Err(FederationFailure::InvalidState));
        }
        let bound = post
            .binding_cookie
            .filter(|c| !c.is_empty() && c.len() <= TOKEN_MAX_LEN)
            .is_some_and(|c| bool::from(TokenHash::of(c).0.ct_eq(&pending.binding_hash.0)));
        if !bound {
            return Ok(Err(FederationFailure::InvalidState));
        }
        let provider = self
            .store
            .find_identity_provider(pending.provider_id)
            .await?
            .filter(|p| p.saml().is_some());
        let named = post.provider_id.map(ProviderId::parse);
        match (provider, named) {
            (Some(p), None) => Ok(Ok((pending, p))),
            (Some(p), Some(Ok(id))) if id == p.id => Ok(Ok((pending, p))),
            _ => Ok(Err(FederationFailure::UnknownProvider)),
        }
    }

    /// `GET /accounts/login/saml/{providerId}/start`: an `AuthnRequest` to
    /// the provider's SSO URL over the HTTP-Redirect binding, remembered
    /// (by its ID, bound to this browser) with the request to resume.
    pub async fn saml_start(
        &self,
        provider_id: &str,
        request: &str,
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
        let Some(sso_url) = provider.saml().and_then(|s| s.sso_url.clone()) else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let now = self.clock.now();
        self.store.purge_expired_federation_states(now).await?;
        let (request_id, binding) = (format!("_{}", mint().secret), mint());
        let sp = self.saml_service_provider();
        let audience = provider
            .saml()
            .and_then(|s| s.audience.clone())
            .unwrap_or(sp.entity_id);
        let authn_request = format!(
            "<samlp:AuthnRequest xmlns:samlp=\"{PROTOCOL}\" xmlns:saml=\"{ASSERTION}\" \
             ID=\"{request_id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" \
             AssertionConsumerServiceURL=\"{}\" \
             ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\">\
             <saml:Issuer>{}</saml:Issuer>\
             <samlp:NameIDPolicy AllowCreate=\"true\"/></samlp:AuthnRequest>",
            now.to_iso(),
            xml_escape(&sso_url),
            xml_escape(&sp.acs_url),
            xml_escape(&audience),
        );
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder
            .write_all(authn_request.as_bytes())
            .and_then(|()| encoder.try_finish())
            .map_err(|e| CoreError::Internal(format!("deflate: {e}")))?;
        let encoded = STANDARD.encode(encoder.get_ref());
        let mut url = url::Url::parse(&sso_url)
            .map_err(|_| CoreError::Internal("stored SSO URL is not a URL".to_owned()))?;
        url.query_pairs_mut().append_pair("SAMLRequest", &encoded);
        let record = FederationState {
            state_hash: TokenHash::of(&request_id),
            provider_id: provider.id,
            binding_hash: binding.hash,
            nonce: String::new(),
            pkce_verifier: String::new(),
            request: request.to_owned(),
            created_at: now,
            expires_at: Timestamp(now.0 + FEDERATION_STATE_LIFETIME_MS),
        };
        self.store.insert_federation_state(&record).await?;
        Ok(Ok(FederationStart {
            redirect: url.to_string(),
            binding_cookie: binding.secret,
            max_age_secs: FEDERATION_STATE_LIFETIME_MS / 1000,
        }))
    }
}

/// Escapes text for an XML attribute or element.
fn xml_escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
