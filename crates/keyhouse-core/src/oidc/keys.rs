//! Signing keys for ID tokens: generated on first start, persisted, rotatable.

use crate::time_fmt::Timestamp;

/// A stored signing key. The private key is PKCS#8 PEM; it is as secret as the
/// database that holds it (docs/backup.md).
#[derive(Clone, PartialEq)]
pub struct SigningKeyRecord {
    /// JWK `kid`, unique.
    pub kid: String,
    /// JWS algorithm, e.g. `RS256`.
    pub algorithm: String,
    pub private_pem: String,
    pub created_at: Timestamp,
    /// Set when a newer key took over signing; the key stays published in the
    /// JWKS until tokens it signed have expired, then it is deleted.
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_pem", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}
