//! ID-token signing: RSA 2048 keys (generated on first start and by
//! `keyhouse keys rotate`), RS256 compact JWS, and the JWKS that publishes
//! their public halves (RFC 7515, RFC 7517, RFC 7518 §3.3, OIDC Core §10.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::keys::SigningKeyRecord;
use crate::error::CoreError;
use crate::time_fmt::Timestamp;

/// The one algorithm Keyhouse signs ID tokens with: the OIDC default every
/// client supports (OIDC Core §15.1).
pub const SIGNING_ALGORITHM: &str = "RS256";
/// RSA modulus size of generated keys (RFC 7518 §3.3 requires ≥ 2048).
pub const SIGNING_KEY_BITS: usize = 2048;

fn internal(msg: impl Into<String>) -> CoreError {
    CoreError::Internal(msg.into())
}

/// A fresh RSA 2048 signing key, ready to store. Its `kid` is the RFC 7638
/// thumbprint, so the same key always has the same id on every node.
pub fn generate_signing_key(now: Timestamp) -> Result<SigningKeyRecord, CoreError> {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, SIGNING_KEY_BITS)
        .map_err(|e| internal(format!("generating the signing key failed: {e}")))?;
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| internal(format!("encoding the signing key failed: {e}")))?;
    Ok(SigningKeyRecord {
        kid: thumbprint(&private.to_public_key()),
        algorithm: SIGNING_ALGORITHM.to_owned(),
        private_pem: pem.to_string(),
        created_at: now,
        retired_at: None,
    })
}

/// RFC 7638 JWK thumbprint of an RSA key: base64url SHA-256 of the required
/// members in lexicographic order, no whitespace.
fn thumbprint(key: &RsaPublicKey) -> String {
    let (n, e) = public_members(key);
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// `n` and `e`, base64url big-endian without leading zeros (RFC 7518 §6.3.1).
fn public_members(key: &RsaPublicKey) -> (String, String) {
    (
        URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    )
}

/// The loaded signing keys: one that signs, all published. Built once at start
/// (and at each key refresh), so that signing does not re-read PEM.
#[derive(Clone)]
pub struct KeyRing {
    signing_kid: String,
    signing_key: EncodingKey,
    /// Public JWKs, newest key first.
    jwks: Vec<Value>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .field("published", &self.jwks.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads stored keys: the newest key not retired signs; every stored key
    /// (retired ones included, until deleted) is published so tokens they
    /// signed still verify. Fails when no key may sign or a key is corrupt.
    pub fn from_records(records: &[SigningKeyRecord]) -> Result<KeyRing, CoreError> {
        let signing = records
            .iter()
            .filter(|r| r.retired_at.is_none())
            .max_by_key(|r| r.created_at)
            .ok_or_else(|| internal("no active ID-token signing key"))?;
        let mut sorted: Vec<&SigningKeyRecord> = records.iter().collect();
        sorted.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let jwks = sorted
            .into_iter()
            .map(public_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        let signing_key = EncodingKey::from_rsa_pem(signing.private_pem.as_bytes())
            .map_err(|e| internal(format!("signing key {}: {e}", signing.kid)))?;
        // Fail at load rather than at the first sign-in if ring refuses the key.
        jsonwebtoken::crypto::sign(b"keyhouse", &signing_key, Algorithm::RS256)
            .map_err(|e| internal(format!("signing key {}: {e}", signing.kid)))?;
        Ok(KeyRing {
            signing_kid: signing.kid.clone(),
            signing_key,
            jwks,
        })
    }

    /// Signs `claims` as a compact JWS, RS256, naming the key in `kid` so that
    /// clients pick the right JWKS entry across rotations (RFC 7515 §4.1.4).
    pub fn sign(&self, claims: &Value) -> Result<String, CoreError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing_key)
            .map_err(|e| internal(format!("signing failed: {e}")))
    }

    /// The JWKS document (RFC 7517 §5): public members only, never `d`, `p`, `q`…
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.jwks })
    }

    /// The `kid` of the key that signs now.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }
}

/// The public JWK of one stored key (RFC 7517 §4, RFC 7518 §6.3.1).
fn public_jwk(record: &SigningKeyRecord) -> Result<Value, CoreError> {
    if record.algorithm != SIGNING_ALGORITHM {
        return Err(internal(format!(
            "signing key {}: unsupported algorithm {}",
            record.kid, record.algorithm
        )));
    }
    let private = RsaPrivateKey::from_pkcs8_pem(&record.private_pem)
        .map_err(|e| internal(format!("signing key {}: {e}", record.kid)))?;
    let (n, e) = public_members(&private.to_public_key());
    Ok(json!({
        "kty": "RSA",
        "use": "sig",
        "alg": record.algorithm,
        "kid": record.kid,
        "n": n,
        "e": e,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn generated_keys_are_rsa_2048_with_thumbprint_kids() {
        let record = generate_signing_key(Timestamp(1_000)).unwrap();
        assert_eq!(record.algorithm, "RS256");
        assert!(record
            .private_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(record.created_at, Timestamp(1_000));
        assert_eq!(record.retired_at, None);
        let private = RsaPrivateKey::from_pkcs8_pem(&record.private_pem).unwrap();
        assert_eq!(private.size() * 8, 2048);
        assert_eq!(record.kid, thumbprint(&private.to_public_key()));
        assert_eq!(record.kid.len(), 43); // 32 bytes, base64url without padding
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1: the example key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let public = RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n).unwrap()),
            rsa::BigUint::from(65_537u32),
        )
        .unwrap();
        assert_eq!(
            thumbprint(&public),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn ring_of(records: &[SigningKeyRecord]) -> KeyRing {
        KeyRing::from_records(records).unwrap()
    }

    #[test]
    fn newest_active_key_signs_and_all_are_published() {
        let mut old = generate_signing_key(Timestamp(1_000)).unwrap();
        let active = generate_signing_key(Timestamp(2_000)).unwrap();
        let mut retired = generate_signing_key(Timestamp(3_000)).unwrap();
        retired.retired_at = Some(Timestamp(4_000));
        let ring = ring_of(&[old.clone(), retired.clone(), active.clone()]);
        assert_eq!(ring.signing_kid(), active.kid);

        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, vec![&retired.kid, &active.kid, &old.kid]);
        for key in keys {
            let mut members: Vec<&str> = key
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            members.sort_unstable();
            assert_eq!(members, vec!["alg", "e", "kid", "kty", "n", "use"]);
            assert_eq!(key["kty"], "RSA");
            assert_eq!(key["use"], "sig");
            assert_eq!(key["alg"], "RS256");
            assert_eq!(key["e"], "AQAB");
        }

        // No active key at all: refused.
        old.retired_at = Some(Timestamp(5_000));
        assert!(KeyRing::from_records(&[old.clone(), retired]).is_err());
        assert!(KeyRing::from_records(&[]).is_err());
    }

    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let record = generate_signing_key(Timestamp(1_000)).unwrap();
        let ring = ring_of(std::slice::from_ref(&record));
        let claims =
            json!({"iss": "https://kh.example", "sub": "u1", "aud": "c1", "exp": 4_000_000_000u64});
        let token = ring.sign(&claims).unwrap();

        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(record.kid.as_str()));

        let jwk = &ring.jwks()["keys"][0];
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["c1"]);
        let data = decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims, claims);
    }

    #[test]
    fn corrupt_records_are_refused_and_secrets_stay_out_of_debug() {
        let record = generate_signing_key(Timestamp(1_000)).unwrap();
        let ring = ring_of(std::slice::from_ref(&record));
        let shown = format!("{ring:?}");
        assert!(shown.contains(&record.kid));
        assert!(!shown.contains("PRIVATE"));

        let mut garbled = record.clone();
        garbled.private_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into();
        assert!(KeyRing::from_records(&[garbled]).is_err());
        let mut es = record;
        es.algorithm = "ES256".into();
        assert!(KeyRing::from_records(&[es]).is_err());
    }
}
