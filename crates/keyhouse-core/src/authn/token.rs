//! Opaque bearer tokens: 256 random bits shown once, stored only as a SHA-256 hash
//! (RFC 6749 §10.10; a database dump reveals no usable token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// Longest bearer string we bother to hash; anything longer cannot be ours.
pub const TOKEN_MAX_LEN: usize = 512;

/// SHA-256 of a token string: the only form in which tokens are stored or cached.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes the token string a client presented.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Enough to correlate in logs, not enough to matter.
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// A freshly minted token: the secret string goes to the client once, the hash to storage.
pub struct NewToken {
    pub secret: String,
    pub hash: TokenHash,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("secret", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Mints a token with 256 bits from the OS-seeded CSPRNG, base64url without padding.
pub fn mint() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = TokenHash::of(&secret);
    NewToken { secret, hash }
}

/// A stored access token: who it speaks for, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenRecord {
    pub hash: TokenHash,
    /// The person the token speaks for (login; later, apps acting for a user).
    pub user_id: Option<UserId>,
    /// The connected app the token was issued to (none for a plain login).
    pub client_id: Option<String>,
    /// The organization the session belongs to: the user's root organization,
    /// or the app's owner organization.
    pub org_id: OrgId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Scopes granted to an app acting for a user (space-separated), checked
    /// together with the app's scopes as they are now. `None` for a plain login
    /// (the user's full rights) and for an app's own token (its current scopes).
    pub scope: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = mint();
        let b = mint();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 43);
        assert_eq!(TokenHash::of(&a.secret), a.hash);
        assert!(!format!("{a:?}").contains(&a.secret));
    }
}
