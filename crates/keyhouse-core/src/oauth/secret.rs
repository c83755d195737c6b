//! Client secrets: 128 random bits shown once as 32 mixed-case hex characters
//! (Anypoint's format), stored as SHA-256 and compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::SecretHash;

/// Longest secret we hash; anything longer cannot be ours.
pub const SECRET_MAX_LEN: usize = 256;

/// A freshly generated secret: the text goes to the admin once, the hash to storage.
pub struct NewSecret {
    pub secret: String,
    pub hash: SecretHash,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(<redacted>)")
    }
}

/// Generates a secret with 128 bits from the OS-seeded CSPRNG; the hex digits
/// are randomly upper- or lower-cased like Anypoint's, adding entropy.
pub fn generate() -> NewSecret {
    let mut rng = rand::thread_rng();
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let mut case = [0u8; 32];
    rng.fill_bytes(&mut case);
    let secret: String = hex::encode(bytes)
        .chars()
        .zip(case)
        .map(|(c, bit)| {
            if bit & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let hash = hash(&secret);
    NewSecret { secret, hash }
}

/// SHA-256 of a presented secret.
pub fn hash(secret: &str) -> SecretHash {
    SecretHash(Sha256::digest(secret.as_bytes()).into())
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn matches(presented: &str, stored: &SecretHash) -> bool {
    if presented.len() > SECRET_MAX_LEN {
        return false;
    }
    hash(presented).0.ct_eq(&stored.0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_verify() {
        let a = generate();
        let b = generate();
        assert_eq!(a.secret.len(), 32);
        assert_ne!(a.secret, b.secret);
        assert!(matches(&a.secret, &a.hash));
        assert!(!matches(&b.secret, &a.hash));
        assert!(!matches(&"x".repeat(1000), &a.hash));
    }
}
