//! What the user-facing grants keep in storage: authorization codes, refresh
//! tokens and consents (RFC 6749 §4.1, §6; Anypoint "Authorizations").
//! Every secret (code, refresh token) is kept only as its SHA-256 hash.

use crate::authn::token::TokenHash;
use crate::ids::UserId;
use crate::time_fmt::Timestamp;

/// Lifetime of an authorization code (RFC 6749 §4.1.2 recommends ≤ 10 minutes; checklist CG-05: ~60 s).
pub const CODE_LIFETIME_SECS: i64 = 60;

/// An issued authorization code, bound to the client, redirect URI, user,
/// scopes and PKCE challenge of the request that produced it (CG-03, CG-04, PK-02).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    pub hash: TokenHash,
    pub client_id: String,
    pub user_id: UserId,
    /// The exact `redirect_uri` of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// PKCE S256 challenge (base64url of SHA-256 of the verifier), if one was sent.
    pub code_challenge: Option<String>,
    /// OIDC `nonce`, echoed into the ID token.
    pub nonce: Option<String>,
    /// When the user last authenticated (OIDC `auth_time`).
    pub auth_time: Timestamp,
    /// Refresh-token family created when this code is redeemed; tokens of this
    /// family are revoked if the code is presented again (CG-02).
    pub family_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What an attempt to redeem a code found (CG-01, CG-07: consumption is atomic).
#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    /// First use: the code is now consumed.
    Redeemed(AuthorizationCode),
    /// The code was already consumed before: a replay.
    AlreadyUsed(AuthorizationCode),
    /// No such code.
    Unknown,
}

/// A refresh token (RFC 6749 §6), one link in a rotation family (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    pub hash: TokenHash,
    /// Every token rotated from the same original grant shares this id.
    pub family_id: String,
    pub client_id: String,
    pub user_id: UserId,
    /// Granted scopes, space-separated (a refresh can never widen them, RT-02).
    pub scope: String,
    /// When the user authenticated for the original grant.
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when the token was exchanged for a new one; a later use is a replay.
    pub rotated_at: Option<Timestamp>,
}

/// What an attempt to rotate a refresh token found (RT-03, RT-09: atomic).
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshRotation {
    /// First use: the token is now marked rotated.
    Rotated(RefreshTokenRecord),
    /// The token had been rotated already: a replay, the family must die.
    AlreadyRotated(RefreshTokenRecord),
    /// No such token (never issued, expired and purged, or revoked).
    Unknown,
}

/// A user's consent to an app: the scopes they allowed, remembered so they are
/// not asked again (AZ-18), listed and revocable by the user (issue 5 §8).
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub user_id: UserId,
    pub client_id: String,
    /// Allowed scopes, space-separated, sorted, no duplicates.
    pub scope: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Last time a token was issued under this consent (code, refresh, password
    /// or JWT-bearer grant); not touched by API calls, which stay write-free.
    pub last_used_at: Option<Timestamp>,
}

/// A one-time JWT-bearer assertion id, remembered until the assertion expires (JB-09).
#[derive(Debug, Clone, PartialEq)]
pub struct UsedAssertion {
    pub client_id: String,
    pub jti: String,
    pub expires_at: Timestamp,
}
