//! A federated sign-in in flight, and the ways one can fail.

use crate::authn::token::TokenHash;
use crate::federation::provider::ProviderId;
use crate::time_fmt::Timestamp;

/// A pending sign-in lives ten minutes: long enough to sign in at the
/// upstream, short enough that a leaked `state` is soon worthless.
pub const FEDERATION_STATE_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// What Keyhouse remembers between sending a browser to the upstream and the
/// browser coming back. Stored under the SHA-256 of the `state` value; used
/// once (consumed atomically by the callback).
#[derive(Clone, PartialEq)]
pub struct FederationState {
    /// SHA-256 of the `state` sent to the upstream.
    pub state_hash: TokenHash,
    /// The provider the sign-in goes through.
    pub provider_id: ProviderId,
    /// SHA-256 of the browser-binding cookie set when the sign-in started: a
    /// callback is accepted only in the browser that started it (no login
    /// CSRF, RFC 9700 §4.7).
    pub binding_hash: TokenHash,
    /// The `nonce` the ID token must echo (OIDC Core §3.1.2.1).
    pub nonce: String,
    /// The PKCE verifier for the code exchange (RFC 7636).
    pub pkce_verifier: String,
    /// The authorization request to resume afterwards (form-urlencoded,
    /// empty when the sign-in started from a login page).
    pub request: String,
    /// When the sign-in started.
    pub created_at: Timestamp,
    /// [`FEDERATION_STATE_LIFETIME_MS`] after the start.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for FederationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationState")
            .field("state_hash", &self.state_hash)
            .field("provider_id", &self.provider_id)
            .field("nonce", &"<redacted>")
            .field("pkce_verifier", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a federated sign-in did not happen; each is shown as an error page,
/// never redirected anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederationFailure {
    /// The provider named in the URL does not exist (any more).
    UnknownProvider,
    /// `state` missing, unknown, already used, expired, or started in another browser.
    InvalidState,
    /// The upstream answered with an error (e.g. the person refused); its code.
    UpstreamRefused(String),
    /// The upstream could not be reached, or its answer did not validate.
    UpstreamFailed,
    /// The upstream's username is not a valid Keyhouse username.
    InvalidUsername(String),
    /// A user with this username exists and is not linked to this provider:
    /// it is never taken over.
    UsernameTaken(String),
    /// The linked user is disabled.
    UserDisabled,
    /// A SAML response failed validation; the text says which rule (safe
    /// to show: it names no secret and no key material).
    AssertionRejected(String),
}

impl FederationFailure {
    /// The error page's title.
    pub fn title(&self) -> &'static str {
        match self {
            FederationFailure::UnknownProvider => "This sign-in option does not exist",
            FederationFailure::InvalidState => "This sign-in has expired",
            FederationFailure::UpstreamRefused(_) | FederationFailure::UpstreamFailed => {
                "Signing in through your identity provider failed"
            }
            FederationFailure::InvalidUsername(_) | FederationFailure::UsernameTaken(_) => {
                "Your account cannot be used here"
            }
            FederationFailure::UserDisabled => "Your account is disabled",
            FederationFailure::AssertionRejected(_) => {
                "Keyhouse did not accept your identity provider's answer"
            }
        }
    }

    /// The error page's sentence (no internal detail).
    pub fn message(&self) -> String {
        match self {
            FederationFailure::UnknownProvider => {
                "The identity provider you chose is not configured in Keyhouse.".to_owned()
            }
            FederationFailure::InvalidState => {
                "The sign-in was not started in this browser, was already completed, or took too long. Go back to the application and start again.".to_owned()
            }
            FederationFailure::UpstreamRefused(code) => format!(
                "Your identity provider did not sign you in ({}).",
                crate::ids::truncate(code)
            ),
            FederationFailure::UpstreamFailed => {
                "Keyhouse could not confirm your sign-in with your identity provider. Try again later, or ask your administrator.".to_owned()
            }
            FederationFailure::InvalidUsername(name) => format!(
                "The username '{}' from your identity provider is not a valid Keyhouse username. Ask your administrator to change the provider's username mapping.",
                crate::ids::truncate(name)
            ),
            FederationFailure::UsernameTaken(name) => format!(
                "A Keyhouse account named '{}' already exists and is not linked to this identity provider. Ask your administrator.",
                crate::ids::truncate(name)
            ),
            FederationFailure::UserDisabled => {
                "Your Keyhouse account is disabled. Ask your administrator.".to_owned()
            }
            FederationFailure::AssertionRejected(why) => format!(
                "The SAML response was refused: {why}."
            ),
        }
    }

    /// A stable name for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            FederationFailure::UnknownProvider => "unknown_provider",
            FederationFailure::InvalidState => "invalid_state",
            FederationFailure::UpstreamRefused(_) => "upstream_refused",
            FederationFailure::UpstreamFailed => "upstream_failed",
            FederationFailure::InvalidUsername(_) => "invalid_username",
            FederationFailure::UsernameTaken(_) => "username_taken",
            FederationFailure::UserDisabled => "user_disabled",
            FederationFailure::AssertionRejected(_) => "assertion_rejected",
        }
    }
}
