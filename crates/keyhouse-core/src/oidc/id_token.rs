//! ID token contents (OIDC Core 1.0 §2, §3.1.3.6, §5.1): the claims Keyhouse
//! puts in an `id_token`, and the `at_hash` that binds it to its access token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// ID tokens live one hour: long enough for a client to read them, short enough
/// that a retired signing key can be dropped a day later (docs/user-grants.md).
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

/// `at_hash` for an RS256 ID token (OIDC Core §3.1.3.6): base64url of the left
/// half of the SHA-256 of the access token's ASCII, so a client can check the
/// access token it got alongside the ID token is the one the ID token vouches for.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The claims of an ID token (OIDC Core §2) plus the standard profile/email
/// claims (§5.1) when those scopes were granted. Absent claims are left out,
/// never sent as `null`. Times are epoch seconds (RFC 7519 NumericDate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer: Keyhouse's public URL.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client id of the app the token is for.
    pub aud: String,
    /// Expiry, `iat` + [`ID_TOKEN_LIFETIME_SECS`].
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user last signed in (OIDC Core §2, needed with `max_age`).
    pub auth_time: i64,
    /// The authorization request's `nonce`, echoed for replay protection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// See [`at_hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Username (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Full name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// First name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Email address (`email` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the address was verified (`email` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn at_hash_is_left_half_of_sha256() {
        // OIDC Core §A.3 example (RS256): access token and its at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash("").len(), 22);
    }

    #[test]
    fn absent_claims_are_left_out() {
        let claims = IdTokenClaims {
            iss: "https://kh.example".into(),
            sub: "u1".into(),
            aud: "c1".into(),
            exp: 4600,
            iat: 1000,
            auth_time: 900,
            nonce: Some("n-0S6_WzA2Mj".into()),
            at_hash: None,
            preferred_username: None,
            name: None,
            given_name: None,
            family_name: None,
            email: Some("a@example.com".into()),
            email_verified: Some(false),
        };
        let value = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            value,
            json!({"iss": "https://kh.example", "sub": "u1", "aud": "c1", "exp": 4600,
                   "iat": 1000, "auth_time": 900, "nonce": "n-0S6_WzA2Mj",
                   "email": "a@example.com", "email_verified": false})
        );
        assert_eq!(
            serde_json::from_value::<IdTokenClaims>(value).unwrap(),
            claims
        );
    }
}
