//! The identity-provider model: what an organization administrator configures,
//! how it is checked, and how it is stored (a `kind` and a JSON configuration,
//! with the upstream client secret kept apart so it is never echoed).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::CoreError;
use crate::ids::{truncate, OrgId};
use crate::time_fmt::Timestamp;

mod saml;

pub use saml::{GroupRole, SamlInput, SamlSettings};

/// Longest provider name accepted.
pub const NAME_MAX_CHARS: usize = 255;
/// Longest issuer URL accepted.
pub const ISSUER_MAX_CHARS: usize = 2048;
/// Longest upstream client id accepted.
pub const CLIENT_ID_MAX_CHARS: usize = 255;
/// Longest upstream client secret accepted.
pub const SECRET_MAX_CHARS: usize = 1024;
/// Most scopes a provider may ask the upstream for.
pub const SCOPES_MAX: usize = 32;
/// Longest scope or claim name accepted.
pub const TOKEN_MAX_CHARS: usize = 128;
/// Longest login domain accepted (a DNS label).
pub const DOMAIN_MAX_CHARS: usize = 63;

/// Scopes asked for when the administrator names none.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Identity-provider id (Anypoint `provider_id`: a UUID string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderId(pub Uuid);

impl ProviderId {
    /// A fresh random (v4) id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses an id from a path; a malformed id is a 400-class error.
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        Uuid::parse_str(raw).map(Self).map_err(|_| {
            CoreError::Validation(format!(
                "identity provider '{}' is not a valid id",
                truncate(raw)
            ))
        })
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The client secret Keyhouse holds at an upstream provider. It must be
/// stored usable (it is sent to the upstream's token endpoint), so it is
/// kept out of `Debug` output, logs and every API answer (write-only, as in
/// Anypoint).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSecret(String);

impl ProviderSecret {
    /// Wraps a stored or newly entered secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the token request and for storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderSecret(<redacted>)")
    }
}

/// Which upstream claims fill a provisioned user's fields (Anypoint
/// `claims_mapping`). Names are claim names of the ID token (or UserInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    /// The claim holding the username; `sub` is used when the claim is absent.
    pub username: String,
    /// The claim holding the first name.
    pub first_name: String,
    /// The claim holding the last name.
    pub last_name: String,
    /// The claim holding the email address.
    pub email: String,
}

impl Default for ClaimMapping {
    /// The standard OIDC claims (OIDC Core §5.1).
    fn default() -> Self {
        Self {
            username: "preferred_username".to_owned(),
            first_name: "given_name".to_owned(),
            last_name: "family_name".to_owned(),
            email: "email".to_owned(),
        }
    }
}

/// An upstream OpenID Connect provider: endpoints come from its discovery
/// document (`<issuer>/.well-known/openid-configuration`), keys from its JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    /// The upstream's issuer, exactly as it spells it in its ID tokens.
    pub issuer: String,
    /// Keyhouse's client id at the upstream.
    pub client_id: String,
    /// Scopes asked for; always includes `openid`.
    pub scopes: Vec<String>,
    /// Which claims fill a provisioned user's fields.
    pub claims: ClaimMapping,
}

/// The protocol of a provider, with its configuration. Stored as a `kind`
/// (`oidc` or `saml`) and a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect (authorization code + PKCE).
    Oidc(OidcSettings),
    /// SAML 2.0 (Web Browser SSO profile, HTTP-POST responses).
    Saml(SamlSettings),
}

impl Protocol {
    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Protocol::Oidc(_) => "oidc",
            Protocol::Saml(_) => "saml",
        }
    }

    /// Anypoint's `type.name` (`openid` or `saml`).
    pub fn wire_name(&self) -> &'static str {
        match self {
            Protocol::Oidc(_) => "openid",
            Protocol::Saml(_) => "saml",
        }
    }

    /// Anypoint's `type.description`.
    pub fn description(&self) -> &'static str {
        match self {
            Protocol::Oidc(_) => "OpenID Connect",
            Protocol::Saml(_) => "SAML 2.0",
        }
    }

    /// The configuration as stored (never holds a secret).
    pub fn config_json(&self) -> serde_json::Value {
        match self {
            Protocol::Oidc(settings) => {
                serde_json::to_value(settings).unwrap_or(serde_json::Value::Null)
            }
            Protocol::Saml(settings) => {
                serde_json::to_value(settings).unwrap_or(serde_json::Value::Null)
            }
        }
    }

    /// Decodes a stored `kind` and configuration; `Err` names what is wrong
    /// (the backends report it as corrupt data).
    pub fn decode(kind: &str, config: serde_json::Value) -> Result<Self, String> {
        match kind {
            "oidc" => serde_json::from_value(config)
                .map(Protocol::Oidc)
                .map_err(|e| format!("identity provider configuration: {e}")),
            "saml" => serde_json::from_value(config)
                .map(Protocol::Saml)
                .map_err(|e| format!("identity provider configuration: {e}")),
            other => Err(format!("identity provider kind '{other}' is not supported")),
        }
    }
}

/// An identity provider of an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProvider {
    /// The provider's id (Anypoint `provider_id`).
    pub id: ProviderId,
    /// The organization (root or business group) the provider belongs to:
    /// the people it signs in become users of that organization's tree, with
    /// a member role in it.
    pub org_id: OrgId,
    /// Shown on the sign-in button; unique per organization regardless of case.
    pub name: String,
    /// The protocol and its settings.
    pub protocol: Protocol,
    /// The upstream client secret (write-only).
    pub secret: Option<ProviderSecret>,
    /// When the provider was added.
    pub created_at: Timestamp,
    /// When the provider last changed.
    pub updated_at: Timestamp,
}

impl IdentityProvider {
    /// The OpenID Connect settings; `None` for a SAML provider.
    pub fn oidc(&self) -> Option<&OidcSettings> {
        match &self.protocol {
            Protocol::Oidc(settings) => Some(settings),
            Protocol::Saml(_) => None,
        }
    }

    /// The SAML settings; `None` for an OpenID Connect provider.
    pub fn saml(&self) -> Option<&SamlSettings> {
        match &self.protocol {
            Protocol::Saml(settings) => Some(settings),
            Protocol::Oidc(_) => None,
        }
    }

    /// Which claims or attributes fill a provisioned user's fields.
    pub fn claims(&self) -> &ClaimMapping {
        match &self.protocol {
            Protocol::Oidc(settings) => &settings.claims,
            Protocol::Saml(settings) => &settings.claims,
        }
    }
}

/// A provider as the sign-in page shows it: one button each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLink {
    /// The provider the button starts a sign-in with.
    pub id: ProviderId,
    /// The button's label.
    pub name: String,
    /// Where the sign-in starts (relative to the issuer; depends on the protocol).
    pub start_path: String,
}

/// What an administrator sends to create or change a provider. Fields left
/// `None` keep their value on update; an empty claim name restores the default.
#[derive(Clone, Default)]
pub struct ProviderInput {
    /// The button label.
    pub name: Option<String>,
    /// `openid` (Anypoint `type.name`), `oidc` or `saml`.
    pub kind: Option<String>,
    /// The SAML settings (Anypoint `saml` object), for a SAML provider.
    pub saml: Option<SamlInput>,
    /// The upstream's issuer URL.
    pub issuer: Option<String>,
    /// Keyhouse's client id at the upstream.
    pub client_id: Option<String>,
    /// Keyhouse's client secret at the upstream (write-only).
    pub client_secret: Option<String>,
    /// Scopes (each entry may hold several, space-separated).
    pub scopes: Option<Vec<String>>,
    /// The claim that becomes the username.
    pub username_claim: Option<String>,
    /// The claim that becomes the first name.
    pub first_name_claim: Option<String>,
    /// The claim that becomes the last name.
    pub last_name_claim: Option<String>,
    /// The claim that becomes the email address.
    pub email_claim: Option<String>,
}

impl fmt::Debug for ProviderInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderInput")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ProviderInput {
    /// A new provider of `org`. OpenID Connect: name, issuer, client id and
    /// secret are required; SAML: name, issuer and a certificate.
    pub fn create(self, org: OrgId, now: Timestamp) -> Result<IdentityProvider, CoreError> {
        if check_kind(self.kind.as_deref())? == "saml" {
            return self.create_saml(org, now);
        }
        let required = |value: Option<String>, field: &str| {
            value.ok_or_else(|| CoreError::Validation(format!("{field} is required")))
        };
        let name = parse_name(&required(self.name, "name")?)?;
        let issuer = parse_issuer(&required(self.issuer, "oidc_provider.issuer")?)?;
        let client_id = parse_client_id(&required(
            self.client_id,
            "oidc_provider.client.credentials.id",
        )?)?;
        let secret = parse_secret(&required(
            self.client_secret,
            "oidc_provider.client.credentials.secret",
        )?)?;
        let scopes = match self.scopes {
            Some(list) => parse_scopes(&list)?,
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut claims = ClaimMapping::default();
        apply_claims(
            &mut claims,
            [
                self.username_claim,
                self.first_name_claim,
                self.last_name_claim,
                self.email_claim,
            ],
        )?;
        Ok(IdentityProvider {
            id: ProviderId::generate(),
            org_id: org,
            name,
            protocol: Protocol::Oidc(OidcSettings {
                issuer,
                client_id,
                scopes,
                claims,
            }),
            secret: Some(secret),
            created_at: now,
            updated_at: now,
        })
    }

    /// `existing` with the given fields changed; every check passes first.
    pub fn apply(
        self,
        existing: &IdentityProvider,
        now: Timestamp,
    ) -> Result<IdentityProvider, CoreError> {
        let kind = check_kind(self.kind.as_deref())?;
        if self.kind.is_some() && kind != existing.protocol.kind() {
            return Err(CoreError::Validation(
                "the type of an identity provider cannot change".to_owned(),
            ));
        }
        let mut updated = existing.clone();
        let settings = match &mut updated.protocol {
            Protocol::Oidc(settings) => settings,
            Protocol::Saml(_) => return self.apply_saml(updated, now),
        };
        if let Some(name) = self.name {
            updated.name = parse_name(&name)?;
        }
        if let Some(issuer) = self.issuer {
            settings.issuer = parse_issuer(&issuer)?;
        }
        if let Some(client_id) = self.client_id {
            settings.client_id = parse_client_id(&client_id)?;
        }
        if let Some(scopes) = self.scopes {
            settings.scopes = parse_scopes(&scopes)?;
        }
        apply_claims(
            &mut settings.claims,
            [
                self.username_claim,
                self.first_name_claim,
                self.last_name_claim,
                self.email_claim,
            ],
        )?;
        if let Some(secret) = self.client_secret {
            updated.secret = Some(parse_secret(&secret)?);
        }
        updated.updated_at = now;
        Ok(updated)
    }
}

/// The stored kind named by Anypoint's `type.name` (absent: OpenID Connect).
fn check_kind(kind: Option<&str>) -> Result<&'static str, CoreError> {
    match kind {
        None | Some("openid" | "oidc") => Ok("oidc"),
        Some("saml") => Ok("saml"),
        Some(other) => Err(CoreError::Validation(format!(
            "type '{}' is not supported; use openid or saml",
            truncate(other)
        ))),
    }
}

fn apply_claims(claims: &mut ClaimMapping, given: [Option<String>; 4]) -> Result<(), CoreError> {
    let defaults = ClaimMapping::default();
    let [username, first, last, email] = given;
    let pairs = [
        (
            username,
            &mut claims.username,
            defaults.username,
            "username_attribute",
        ),
        (
            first,
            &mut claims.first_name,
            defaults.first_name,
            "firstname_attribute",
        ),
        (
            last,
            &mut claims.last_name,
            defaults.last_name,
            "lastname_attribute",
        ),
        (email, &mut claims.email, defaults.email, "email_attribute"),
    ];
    for (value, slot, default, field) in pairs {
        if let Some(raw) = value {
            let raw = raw.trim();
            *slot = if raw.is_empty() {
                default
            } else {
                parse_token(field, raw)?
            };
        }
    }
    Ok(())
}

/// A provider name: trimmed, 1–255 printable characters.
pub fn parse_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(CoreError::Validation(format!(
            "name must be 1 to {NAME_MAX_CHARS} printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// The upstream's issuer: an `https` URL, or `http` on a loopback address
/// (development and tests); no query, fragment or credentials (OIDC Core §2).
/// Kept exactly as given: ID tokens must carry the same string.
pub fn parse_issuer(raw: &str) -> Result<String, CoreError> {
    let raw = raw.trim();
    let bad = |why: &str| {
        CoreError::Validation(format!("oidc_provider.issuer '{}' {why}", truncate(raw)))
    };
    if raw.chars().count() > ISSUER_MAX_CHARS {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("is not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if loopback => Ok(raw.to_owned()),
        _ => Err(bad(
            "must be an https URL (plain http only on a loopback address)",
        )),
    }
}

fn parse_client_id(raw: &str) -> Result<String, CoreError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > CLIENT_ID_MAX_CHARS || id.chars().any(char::is_control)
    {
        return Err(CoreError::Validation(format!(
            "oidc_provider.client.credentials.id must be 1 to {CLIENT_ID_MAX_CHARS} printable characters"
        )));
    }
    Ok(id.to_owned())
}

fn parse_secret(raw: &str) -> Result<ProviderSecret, CoreError> {
    if raw.is_empty() || raw.chars().count() > SECRET_MAX_CHARS || raw.chars().any(char::is_control)
    {
        return Err(CoreError::Validation(format!(
            "oidc_provider.client.credentials.secret must be 1 to {SECRET_MAX_CHARS} printable characters"
        )));
    }
    Ok(ProviderSecret::new(raw.to_owned()))
}

/// Scope tokens (RFC 6749 §3.3), de-duplicated, `openid` always first.
pub fn parse_scopes(raw: &[String]) -> Result<Vec<String>, CoreError> {
    let mut out = vec!["openid".to_owned()];
    for scope in raw
        .iter()
        .flat_map(|s| s.split(' '))
        .filter(|s| !s.is_empty())
    {
        let scope = parse_token("oidc_provider.scopes", scope)?;
        let valid = scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(CoreError::Validation(format!(
                "oidc_provider.scopes: '{}' is not a valid scope",
                truncate(&scope)
            )));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.len() > SCOPES_MAX {
        return Err(CoreError::Validation(format!(
            "oidc_provider.scopes may name at most {SCOPES_MAX} scopes"
        )));
    }
    Ok(out)
}

/// A claim or scope name: 1–128 characters, no spaces or control characters.
fn parse_token(field: &str, raw: &str) -> Result<String, CoreError> {
    if raw.is_empty()
        || raw.chars().count() > TOKEN_MAX_CHARS
        || raw.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(CoreError::Validation(format!(
            "{field} must be 1 to {TOKEN_MAX_CHARS} characters without spaces"
        )));
    }
    Ok(raw.to_owned())
}

/// An organization's login domain (`/accounts/login/{domain}`): lower-cased,
/// 1–63 letters, digits and hyphens, not starting or ending with a hyphen.
pub fn parse_login_domain(raw: &str) -> Result<String, CoreError> {
    let domain = raw.trim().to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= DOMAIN_MAX_CHARS
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !domain.starts_with('-')
        && !domain.ends_with('-');
    if valid {
        Ok(domain)
    } else {
        Err(CoreError::Validation(format!(
            "domain '{}' must be 1 to {DOMAIN_MAX_CHARS} letters, digits and hyphens",
            truncate(raw)
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
