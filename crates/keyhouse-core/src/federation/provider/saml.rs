//! The settings of a SAML 2.0 identity provider (Anypoint `saml` object):
//! its entity id, its signing certificates, where to send people for
//! SP-initiated sign-in and logout, and which attributes fill a user.

use serde::{Deserialize, Serialize};

use super::{
    apply_claims, parse_issuer, parse_name, parse_token, ClaimMapping, IdentityProvider, Protocol,
    ProviderId, ProviderInput,
};
use crate::error::CoreError;
use crate::federation::saml::TrustedKeys;
use crate::ids::{truncate, OrgId};
use crate::time_fmt::Timestamp;

/// Longest entity id accepted.
pub const ENTITY_ID_MAX_CHARS: usize = 1024;
/// Most signing certificates per provider (a rollover needs two).
pub const CERTIFICATES_MAX: usize = 4;
/// Longest certificate accepted (PEM text).
pub const CERTIFICATE_MAX_CHARS: usize = 16 * 1024;

/// A SAML identity provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSettings {
    /// The provider's entity id: the `Issuer` of its responses.
    pub issuer: String,
    /// Its single sign-on URL (HTTP-Redirect binding), for SP-initiated
    /// sign-in; `None`: only IdP-initiated sign-in.
    pub sso_url: Option<String>,
    /// Its single logout URL, where Keyhouse sends the browser after a logout.
    pub slo_url: Option<String>,
    /// The certificates whose keys sign its responses (PEM).
    pub certificates: Vec<String>,
    /// The audience it puts in assertions, when it is not Keyhouse's entity id.
    pub audience: Option<String>,
    /// Which attributes fill a user; an empty username attribute means `NameID`.
    pub claims: ClaimMapping,
    /// The attribute listing the person's groups, if any.
    pub group_attribute: Option<String>,
    /// Groups that decide the person's role in the provider's organization
    /// at every sign-in (empty: roles are left as they are).
    #[serde(default)]
    pub group_roles: Vec<GroupRole>,
}

/// One group → role rule (Anypoint's `external_group_name` mappings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    /// The group name as the identity provider sends it.
    pub group: String,
    /// `admin` or `member`.
    pub role: String,
}

/// Most group → role rules per provider.
pub const GROUP_ROLES_MAX: usize = 32;

impl SamlSettings {
    /// The role the person's `groups` give in the provider's organization:
    /// `None` when no rule is configured. With rules, an admin group makes an
    /// administrator and anything else a member (losing the group demotes).
    pub fn role_for(&self, groups: &[String]) -> Option<crate::access::Role> {
        if self.group_roles.is_empty() {
            return None;
        }
        let admin = self
            .group_roles
            .iter()
            .any(|rule| rule.role == "admin" && groups.contains(&rule.group));
        Some(if admin {
            crate::access::Role::Admin
        } else {
            crate::access::Role::Member
        })
    }
}

/// Group → role rules: 1–255-character group names, roles `admin` or `member`.
fn parse_group_roles(raw: &[(String, String)]) -> Result<Vec<GroupRole>, CoreError> {
    if raw.len() > GROUP_ROLES_MAX {
        return Err(CoreError::Validation(format!(
            "saml.group_mappings may hold at most {GROUP_ROLES_MAX} rules"
        )));
    }
    raw.iter()
        .map(|(group, role)| {
            let group = group.trim();
            if group.is_empty()
                || group.chars().count() > 255
                || group.chars().any(char::is_control)
            {
                return Err(CoreError::Validation(
                    "saml.group_mappings: external_group_name must be 1 to 255 characters"
                        .to_owned(),
                ));
            }
            if crate::access::Role::parse(role).is_none() {
                return Err(CoreError::Validation(format!(
                    "saml.group_mappings: role '{}' must be admin or member",
                    truncate(role)
                )));
            }
            Ok(GroupRole {
                group: group.to_owned(),
                role: role.clone(),
            })
        })
        .collect()
}

impl SamlSettings {
    /// The attribute mapping used when an administrator names none.
    pub fn default_claims() -> ClaimMapping {
        ClaimMapping {
            username: String::new(),
            first_name: "firstname".to_owned(),
            last_name: "lastname".to_owned(),
            email: "email".to_owned(),
        }
    }

    /// The keys signatures are checked with.
    pub fn keys(&self) -> Result<TrustedKeys, CoreError> {
        TrustedKeys::from_certificates(&self.certificates)
            .map_err(|e| CoreError::Internal(format!("stored SAML certificate: {e}")))
    }
}

/// An entity id: a URI (commonly a URL) of at most 1024 characters.
pub fn parse_entity_id(field: &str, raw: &str) -> Result<String, CoreError> {
    let id = raw.trim();
    if id.is_empty()
        || id.chars().count() > ENTITY_ID_MAX_CHARS
        || id.chars().any(char::is_whitespace)
    {
        return Err(CoreError::Validation(format!(
            "{field} must be 1 to {ENTITY_ID_MAX_CHARS} characters without spaces"
        )));
    }
    Ok(id.to_owned())
}

/// A provider endpoint: https (http only on loopback), as for OIDC issuers,
/// but a query is allowed (some providers route on it).
pub fn parse_endpoint(field: &str, raw: &str) -> Result<Option<String>, CoreError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let without_query = raw.split('?').next().unwrap_or(raw);
    parse_issuer(without_query)
        .map_err(|_| {
            CoreError::Validation(format!(
                "{field} '{}' must be an https URL (plain http only on a loopback address)",
                truncate(raw)
            ))
        })
        .map(|_| Some(raw.to_owned()))
}

/// Signing certificates: 1 to 4, each an RSA certificate of ≥ 2048 bits
/// (checked now, so a typo fails at configuration, not at sign-in).
pub fn parse_certificates(raw: &[String]) -> Result<Vec<String>, CoreError> {
    let certificates: Vec<String> = raw
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if certificates.is_empty() || certificates.len() > CERTIFICATES_MAX {
        return Err(CoreError::Validation(format!(
            "saml.public_key must hold 1 to {CERTIFICATES_MAX} certificates"
        )));
    }
    if certificates
        .iter()
        .any(|c| c.chars().count() > CERTIFICATE_MAX_CHARS)
    {
        return Err(CoreError::Validation(
            "saml.public_key: a certificate is too long".to_owned(),
        ));
    }
    TrustedKeys::from_certificates(&certificates)
        .map_err(|e| CoreError::Validation(format!("saml.public_key: {e}")))?;
    Ok(certificates)
}

/// What an administrator sends for a SAML provider; `None` keeps a value on
/// update, an empty string clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct SamlInput {
    /// The provider's entity id (`saml.issuer`).
    pub issuer: Option<String>,
    /// Its single sign-on URL (`service_provider.urls.sign_on` in Anypoint's form).
    pub sso_url: Option<String>,
    /// Its single logout URL.
    pub slo_url: Option<String>,
    /// Its signing certificates (`saml.public_key`).
    pub certificates: Option<Vec<String>>,
    /// The audience it uses, when not Keyhouse's entity id (`saml.audience`).
    pub audience: Option<String>,
    /// The attribute listing groups (`saml.claims_mapping.group_attribute`).
    pub group_attribute: Option<String>,
    /// Group → role rules, `(group, role)`, replacing the existing ones.
    pub group_roles: Option<Vec<(String, String)>>,
}

impl ProviderInput {
    pub(super) fn create_saml(
        self,
        org: OrgId,
        now: Timestamp,
    ) -> Result<IdentityProvider, CoreError> {
        let name = parse_name(
            &self
                .name
                .clone()
                .ok_or_else(|| CoreError::Validation("name is required".to_owned()))?,
        )?;
        let input = self.saml.clone().unwrap_or_default();
        let issuer = parse_entity_id(
            "saml.issuer",
            &input
                .issuer
                .clone()
                .ok_or_else(|| CoreError::Validation("saml.issuer is required".to_owned()))?,
        )?;
        let certificates = parse_certificates(
            &input
                .certificates
                .clone()
                .ok_or_else(|| CoreError::Validation("saml.public_key is required".to_owned()))?,
        )?;
        let placeholder = IdentityProvider {
            id: ProviderId::generate(),
            org_id: org,
            name,
            protocol: Protocol::Saml(SamlSettings {
                issuer,
                sso_url: None,
                slo_url: None,
                certificates,
                audience: None,
                claims: SamlSettings::default_claims(),
                group_attribute: None,
                group_roles: Vec::new(),
            }),
            secret: None,
            created_at: now,
            updated_at: now,
        };
        self.apply_saml(placeholder, now)
    }

    /// Applies SAML fields to `updated` (a SAML provider).
    pub(super) fn apply_saml(
        self,
        mut updated: IdentityProvider,
        now: Timestamp,
    ) -> Result<IdentityProvider, CoreError> {
        if self.client_id.is_some() || self.client_secret.is_some() || self.scopes.is_some() {
            return Err(CoreError::Validation(
                "oidc_provider settings do not apply to a SAML provider".to_owned(),
            ));
        }
        if let Some(name) = self.name {
            updated.name = parse_name(&name)?;
        }
        let Protocol::Saml(settings) = &mut updated.protocol else {
            return Err(CoreError::Internal("not a SAML provider".to_owned()));
        };
        let input = self.saml.unwrap_or_default();
        if let Some(issuer) = input.issuer {
            settings.issuer = parse_entity_id("saml.issuer", &issuer)?;
        }
        if let Some(certificates) = input.certificates {
            settings.certificates = parse_certificates(&certificates)?;
        }
        if let Some(url) = input.sso_url {
            settings.sso_url = parse_endpoint("sign_on_url", &url)?;
        }
        if let Some(url) = input.slo_url {
            settings.slo_url = parse_endpoint("sign_out_url", &url)?;
        }
        if let Some(audience) = input.audience {
            settings.audience = if audience.trim().is_empty() {
                None
            } else {
                Some(parse_entity_id("saml.audience", &audience)?)
            };
        }
        if let Some(group) = input.group_attribute {
            settings.group_attribute = if group.trim().is_empty() {
                None
            } else {
                Some(parse_token("group_attribute", group.trim())?)
            };
        }
        if let Some(rules) = input.group_roles {
            settings.group_roles = parse_group_roles(&rules)?;
        }
        if !settings.group_roles.is_empty() && settings.group_attribute.is_none() {
            return Err(CoreError::Validation(
                "saml.group_mappings need claims_mapping.group_attribute".to_owned(),
            ));
        }
        let defaults = SamlSettings::default_claims();
        let mut claims = settings.claims.clone();
        apply_claims(
            &mut claims,
            [
                self.username_claim,
                self.first_name_claim,
                self.last_name_claim,
                self.email_claim,
            ],
        )?;
        // An empty username attribute means NameID for SAML (the OIDC
        // default, preferred_username, is not a SAML attribute).
        if claims.username == ClaimMapping::default().username {
            claims.username = defaults.username;
        }
        settings.claims = claims;
        updated.updated_at = now;
        Ok(updated)
    }
}
