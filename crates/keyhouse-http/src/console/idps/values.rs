//! The identity-provider form's values: what the pages show of a provider
//! (never its client secret), how the entered fields become the core's
//! `ProviderInput` (the API's `into_input`, for HTML forms), and what to give
//! the identity provider (the API's `detail`: callback URL, or entity id, ACS
//! and metadata URLs).

use askama::Template;
use keyhouse_core::federation::{
    start_path, IdentityProvider, ProviderInput, SamlInput, SamlSettings,
};
use keyhouse_core::service::SAML_METADATA_PATH;
use keyhouse_core::CoreError;

use super::super::app_edit::{field, lines};
use super::super::picker::OrgOption;
use super::super::templates::Nav;
use crate::AppState;

/// One provider in the list.
pub(crate) struct IdpRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub issuer: String,
    pub sign_on: String,
}

/// The list of an organization's providers.
#[derive(Template)]
#[template(path = "console/idps.html")]
pub(crate) struct IdpsPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub org_id: String,
    pub rows: Vec<IdpRow>,
    pub deleted: bool,
}

/// What the provider form shows (never the client secret).
#[derive(Default)]
pub(crate) struct IdpValues {
    pub saml: bool,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub certificates: String,
    pub sso_url: String,
    pub slo_url: String,
    pub audience: String,
    pub group_attribute: String,
    pub group_roles: String,
}

/// One thing to give the identity provider (or to use to start a sign-in).
pub(crate) struct SetupRow {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// The add / edit form; `provider_id` is set when editing.
#[derive(Template)]
#[template(path = "console/idp_form.html")]
pub(crate) struct IdpFormPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub org_id: String,
    pub provider_id: Option<String>,
    pub csrf: String,
    pub error: Option<String>,
    pub saved: bool,
    pub form: IdpValues,
    pub setup: Vec<SetupRow>,
}

/// The confirmation step before deleting.
#[derive(Template)]
#[template(path = "console/idp_delete.html")]
pub(crate) struct IdpDeletePage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub org_id: String,
    pub provider_id: String,
    pub name: String,
    pub csrf: String,
}

impl IdpValues {
    pub(super) fn of(provider: &IdentityProvider) -> Self {
        let claims = provider.claims();
        let mut values = Self {
            name: provider.name.clone(),
            username: claims.username.clone(),
            first_name: claims.first_name.clone(),
            last_name: claims.last_name.clone(),
            email: claims.email.clone(),
            ..Self::default()
        };
        if let Some(oidc) = provider.oidc() {
            values.issuer = oidc.issuer.clone();
            values.client_id = oidc.client_id.clone();
            values.scopes = oidc.scopes.join(" ");
        }
        if let Some(saml) = provider.saml() {
            values.saml = true;
            values.issuer = saml.issuer.clone();
            values.certificates = saml.certificates.join("\n");
            values.sso_url = saml.sso_url.clone().unwrap_or_default();
            values.slo_url = saml.slo_url.clone().unwrap_or_default();
            values.audience = saml.audience.clone().unwrap_or_default();
            values.group_attribute = saml.group_attribute.clone().unwrap_or_default();
            values.group_roles = saml
                .group_roles
                .iter()
                .map(|r| format!("{} = {}", r.group, r.role))
                .collect::<Vec<_>>()
                .join("\n");
        }
        values
    }

    pub(super) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| field(pairs, name).to_owned();
        Self {
            saml: field(pairs, "type") == "saml",
            name: get("name"),
            issuer: get("issuer"),
            client_id: get("client_id"),
            scopes: get("scopes"),
            username: get("username_attribute"),
            first_name: get("firstname_attribute"),
            last_name: get("lastname_attribute"),
            email: get("email_attribute"),
            certificates: get("certificates"),
            sso_url: get("sign_on_url"),
            slo_url: get("sign_out_url"),
            audience: get("audience"),
            group_attribute: get("group_attribute"),
            group_roles: get("group_roles"),
        }
    }

    /// The service input. Every field is sent, so an emptied optional one is
    /// cleared (or, for an attribute name, set back to its default); an empty
    /// secret keeps the stored one.
    pub(super) fn input(&self, secret: &str) -> Result<ProviderInput, CoreError> {
        let text = |v: &str| Some(v.trim().to_owned());
        let mut input = ProviderInput {
            name: text(&self.name),
            issuer: text(&self.issuer),
            username_claim: text(&self.username),
            first_name_claim: text(&self.first_name),
            last_name_claim: text(&self.last_name),
            email_claim: text(&self.email),
            ..ProviderInput::default()
        };
        if !self.saml {
            input.kind = Some("openid".to_owned());
            input.client_id = text(&self.client_id);
            input.client_secret = (!secret.trim().is_empty()).then(|| secret.trim().to_owned());
            let scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
            input.scopes = (!scopes.is_empty()).then_some(scopes);
            return Ok(input);
        }
        // SAML's own attribute defaults (the core's empty-name default is OIDC's).
        let saml = SamlSettings::default_claims();
        let or = |v: &str, default: String| text(if v.trim().is_empty() { &default } else { v });
        input.first_name_claim = or(&self.first_name, saml.first_name);
        input.last_name_claim = or(&self.last_name, saml.last_name);
        input.email_claim = or(&self.email, saml.email);
        input.kind = Some("saml".to_owned());
        input.saml = Some(SamlInput {
            issuer: input.issuer.take(),
            sso_url: text(&self.sso_url),
            slo_url: text(&self.slo_url),
            certificates: Some(pem_blocks(&self.certificates)),
            audience: text(&self.audience),
            group_attribute: text(&self.group_attribute),
            group_roles: Some(group_rules(&self.group_roles)?),
        });
        Ok(input)
    }
}

/// Certificates pasted one after another.
fn pem_blocks(text: &str) -> Vec<String> {
    text.split("-----BEGIN ")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| format!("-----BEGIN {b}"))
        .collect()
}

/// Group → role rules, one `group = role` a line (split at the last `=`, so
/// a group may be an LDAP name such as `cn=admins,ou=groups`).
fn group_rules(text: &str) -> Result<Vec<(String, String)>, CoreError> {
    lines(text)
        .iter()
        .map(|line| match line.rsplit_once('=') {
            Some((group, role)) => Ok((group.trim().to_owned(), role.trim().to_owned())),
            None => Err(CoreError::Validation(format!(
                "Group rule '{line}' must read: group = admin (or member)"
            ))),
        })
        .collect()
}

/// What to give the identity provider, and where a sign-in through it starts.
pub(super) fn setup(state: &AppState, provider: &IdentityProvider) -> Vec<SetupRow> {
    let issuer = &state.keyhouse.settings().issuer;
    let row = |id, label, value| SetupRow { id, label, value };
    let start = row(
        "setup-start",
        "Sign-in starts at",
        format!("{issuer}{}", start_path(provider)),
    );
    let Some(saml) = provider.saml() else {
        let callback = state.keyhouse.federation_callback_url();
        return vec![
            row(
                "setup-callback",
                "Redirect (callback) URL to register",
                callback,
            ),
            start,
        ];
    };
    let sp = state.keyhouse.saml_service_provider();
    let mut rows = vec![
        row(
            "setup-entity-id",
            "Entity id (audience)",
            saml.audience.clone().unwrap_or(sp.entity_id),
        ),
        row(
            "setup-acs",
            "Assertion consumer service (ACS) URL",
            sp.acs_url,
        ),
        row(
            "setup-metadata",
            "Metadata URL",
            format!("{issuer}{SAML_METADATA_PATH}"),
        ),
        row("setup-logout", "Single logout URL", sp.slo_url),
    ];
    if saml.sso_url.is_some() {
        rows.push(start);
    }
    rows
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn group_rules_split_at_the_last_equals_sign() {
        let rules = group_rules("Admins = admin\n\ncn=staff,ou=groups = member\n").unwrap();
        assert_eq!(
            rules,
            vec![
                ("Admins".to_owned(), "admin".to_owned()),
                ("cn=staff,ou=groups".to_owned(), "member".to_owned())
            ]
        );
        assert!(group_rules("Admins admin").is_err());
    }

    #[test]
    fn oidc_input_keeps_the_secret_when_left_empty_and_saml_gets_its_defaults() {
        let oidc = IdpValues {
            name: " Okta ".to_owned(),
            issuer: "https://idp.example".to_owned(),
            client_id: "kh".to_owned(),
            ..IdpValues::default()
        };
        let input = oidc.input("  ").unwrap();
        assert!(input.client_secret.is_none() && input.scopes.is_none() && input.saml.is_none());
        assert_eq!(input.name.as_deref(), Some("Okta"));
        assert_eq!(
            oidc.input("s3cret").unwrap().client_secret.as_deref(),
            Some("s3cret")
        );

        let saml = IdpValues {
            saml: true,
            issuer: "urn:idp".to_owned(),
            certificates: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----".to_owned(),
            ..IdpValues::default()
        };
        let input = saml.input("ignored").unwrap();
        assert!(input.client_secret.is_none() && input.issuer.is_none());
        assert_eq!(input.first_name_claim.as_deref(), Some("firstname"));
        let settings = input.saml.unwrap();
        assert_eq!(settings.issuer.as_deref(), Some("urn:idp"));
        assert_eq!(settings.certificates.map(|c| c.len()), Some(2));
        assert_eq!(settings.group_roles, Some(Vec::new()));
    }
}
