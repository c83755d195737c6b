//! Federated sign-in (issue 6 §1, §4): identity providers per organization,
//! sign-in through an upstream OpenID Connect provider, and just-in-time
//! provisioning of the people it vouches for.
//!
//! The core decides everything (who a provider may sign in, what a callback
//! proves, which user it becomes) and stays free of HTTP: talking to the
//! upstream (discovery, JWKS, the token endpoint) goes through the
//! [`upstream::UpstreamOidc`] trait, implemented by the HTTP crate.
//!
//! Providers are stored as a `kind` plus a JSON configuration: OpenID Connect
//! or SAML 2.0 ([`provider::Protocol`]); SAML responses are checked by
//! [`saml`].

pub mod provider;
pub mod saml;
pub mod state;
pub mod upstream;

pub use provider::{
    parse_login_domain, ClaimMapping, GroupRole, IdentityProvider, OidcSettings, Protocol,
    ProviderId, ProviderInput, ProviderLink, ProviderSecret, SamlInput, SamlSettings,
};
pub use state::{FederationFailure, FederationState, FEDERATION_STATE_LIFETIME_MS};
pub use upstream::{
    UpstreamAuthRequest, UpstreamCodeExchange, UpstreamError, UpstreamOidc, VerifiedClaims,
};

/// Where an upstream provider sends the browser back (relative to the issuer):
/// register `<issuer>/accounts/login/oidc/callback` at the upstream.
pub const CALLBACK_PATH: &str = "/accounts/login/oidc/callback";

/// The start of a federated sign-in through `provider` (relative to the issuer).
pub fn start_path(provider: &IdentityProvider) -> String {
    match provider.protocol {
        Protocol::Oidc(_) => format!("/accounts/login/oidc/{}/start", provider.id),
        Protocol::Saml(_) => format!("/accounts/login/saml/{}/start", provider.id),
    }
}
