//! Public keys that connected apps register for the JWT-bearer grant (RFC 7523,
//! docs/user-grants.md "JWT-bearer assertions"): PEM, SPKI or PKCS#1, RSA ≥ 2048
//! bits, EC P-256/P-384 or Ed25519. Parsed with the RustCrypto DER crates; the
//! result holds the exact bytes ring verifies signatures with.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1::der::Decode as _;
use rsa::pkcs1::RsaPublicKey;
use rsa::pkcs8::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use crate::error::CoreError;

/// Largest PEM accepted: an 8192-bit RSA key is about 1.5 KiB, so anything past
/// 16 KiB is not a single public key.
pub const PUBLIC_KEY_MAX_BYTES: usize = 16 * 1024;
/// Smallest RSA modulus accepted (NIST SP 800-131A; ring refuses smaller ones).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus ring verifies with.
pub const RSA_MAX_BITS: usize = 8192;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The type of a registered key: an assertion's `alg` may only be verified with
/// keys of the matching type (RFC 8725 §3.1, JB-02/JB-04).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// RSA, for RS256/384/512 and PS256/384/512.
    Rsa { bits: usize },
    /// ECDSA on P-256, for ES256.
    EcP256,
    /// ECDSA on P-384, for ES384.
    EcP384,
    /// Ed25519, for EdDSA.
    Ed25519,
}

/// A parsed public key: its type and the bytes ring verifies with (PKCS#1
/// `RSAPublicKey` DER for RSA, the SEC1 uncompressed point for EC, the 32 raw
/// bytes for Ed25519) — what `jsonwebtoken::DecodingKey::from_*_der` expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPublicKey {
    /// The key type and, for RSA, its size.
    pub kind: PublicKeyKind,
    /// The key material in the form ring takes.
    pub key: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> CoreError {
    CoreError::Validation(msg.into())
}

fn not_a_public_key() -> CoreError {
    invalid("public_keys must be PEM public keys (-----BEGIN PUBLIC KEY-----)")
}

/// Checks a registered key and tells its type, so that registration refuses
/// keys that could never verify an assertion (or that are secret).
pub fn parse_public_key_pem(pem: &str) -> Result<PublicKeyKind, CoreError> {
    decode_public_key_pem(pem).map(|key| key.kind)
}

/// Parses a PEM public key in full, for verifying a JWT-bearer assertion with
/// it (RFC 7523 §3 item 9). Same rules as [`parse_public_key_pem`].
pub fn decode_public_key_pem(pem: &str) -> Result<ParsedPublicKey, CoreError> {
    if pem.len() > PUBLIC_KEY_MAX_BYTES {
        return Err(invalid(format!(
            "public_keys must be at most {} KiB each",
            PUBLIC_KEY_MAX_BYTES / 1024
        )));
    }
    if pem.contains("PRIVATE KEY") {
        return Err(invalid(
            "public_keys must not contain private keys: register only the public key \
             (-----BEGIN PUBLIC KEY-----) and keep the private key with the app",
        ));
    }
    let (label, der) = unarmour(pem)?;
    match label.as_str() {
        "PUBLIC KEY" => decode_spki(&der),
        "RSA PUBLIC KEY" => decode_rsa(&der),
        "CERTIFICATE" => Err(invalid(
            "public_keys must be public keys, not certificates (-----BEGIN PUBLIC KEY-----)",
        )),
        _ => Err(not_a_public_key()),
    }
}

/// One PEM block, lenient about line wrapping and line endings, nothing after it.
fn unarmour(pem: &str) -> Result<(String, Vec<u8>), CoreError> {
    let mut lines = pem.trim().lines().map(str::trim);
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(not_a_public_key)?;
    let mut body = String::new();
    let mut end = None;
    for line in lines {
        if end.is_some() {
            return Err(invalid("public_keys entries must hold exactly one PEM key"));
        }
        match line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            Some(end_label) => end = Some(end_label),
            None => body.extend(line.chars().filter(|c| !c.is_ascii_whitespace())),
        }
    }
    if end != Some(label) {
        return Err(not_a_public_key());
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| invalid("public_keys: the PEM body is not valid base64"))?;
    Ok((label.to_owned(), der))
}

fn decode_spki(der: &[u8]) -> Result<ParsedPublicKey, CoreError> {
    let spki = SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|_| invalid("public_keys: the key is not a valid SubjectPublicKeyInfo"))?;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| invalid("public_keys: the key is not a valid SubjectPublicKeyInfo"))?;
    let oid = spki.algorithm.oid;
    if oid == OID_RSA {
        decode_rsa(bits)
    } else if oid == OID_EC {
        let curve = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| invalid("public_keys: EC keys must name their curve"))?;
        let (kind, len) = if curve == OID_P256 {
            (PublicKeyKind::EcP256, 65)
        } else if curve == OID_P384 {
            (PublicKeyKind::EcP384, 97)
        } else {
            return Err(invalid(format!(
                "public_keys: EC curve {curve} is not supported (use P-256 or P-384)"
            )));
        };
        if bits.len() != len || bits.first() != Some(&0x04) {
            return Err(invalid(
                "public_keys: EC keys must be uncompressed points of their curve",
            ));
        }
        Ok(ParsedPublicKey {
            kind,
            key: bits.to_vec(),
        })
    } else if oid == OID_ED25519 {
        if spki.algorithm.parameters.is_some() || bits.len() != 32 {
            return Err(invalid("public_keys: the Ed25519 key is malformed"));
        }
        Ok(ParsedPublicKey {
            kind: PublicKeyKind::Ed25519,
            key: bits.to_vec(),
        })
    } else {
        Err(invalid(format!(
            "public_keys: key algorithm {oid} is not supported (use RSA, EC P-256/P-384 or Ed25519)"
        )))
    }
}

/// A PKCS#1 `RSAPublicKey`, alone or inside SPKI.
fn decode_rsa(der: &[u8]) -> Result<ParsedPublicKey, CoreError> {
    let key = RsaPublicKey::from_der(der)
        .map_err(|_| invalid("public_keys: the RSA key is malformed"))?;
    let modulus = strip_zeros(key.modulus.as_bytes());
    let bits = match modulus.first() {
        Some(top) => modulus.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < RSA_MIN_BITS {
        return Err(invalid(format!(
            "public_keys: RSA keys must be at least {RSA_MIN_BITS} bits (this one has {bits})"
        )));
    }
    if bits > RSA_MAX_BITS {
        return Err(invalid(format!(
            "public_keys: RSA keys must be at most {RSA_MAX_BITS} bits (this one has {bits})"
        )));
    }
    // ring accepts odd exponents from 3 up to 33 bits.
    let exponent = strip_zeros(key.public_exponent.as_bytes());
    let odd = exponent.last().is_some_and(|b| b & 1 == 1);
    if !odd || exponent.len() > 4 || exponent == [1] {
        return Err(invalid(
            "public_keys: the RSA public exponent is not usable",
        ));
    }
    Ok(ParsedPublicKey {
        kind: PublicKeyKind::Rsa { bits },
        key: der.to_vec(),
    })
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    /// A real RSA public key, SPKI PEM, of `bits` bits.
    pub(crate) fn rsa_public_pem(bits: usize) -> String {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).unwrap();
        key.to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    /// SPKI PEM around a raw key, for EC/Ed25519 keys made with ring.
    pub(crate) fn spki_pem(prefix_hex: &str, raw: &[u8]) -> String {
        let mut der = hex::decode(prefix_hex).unwrap();
        der.extend_from_slice(raw);
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    pub(crate) const P256_SPKI: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    pub(crate) const P384_SPKI: &str = "3076301006072a8648ce3d020106052b81040022036200";
    pub(crate) const ED25519_SPKI: &str = "302a300506032b6570032100";

    fn message(pem: &str) -> String {
        parse_public_key_pem(pem).unwrap_err().to_string()
    }

    #[test]
    fn rsa_keys_in_both_forms() {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let spki = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(
            parse_public_key_pem(&spki).unwrap(),
            PublicKeyKind::Rsa { bits: 2048 }
        );
        let pkcs1 = key.to_public_key().to_pkcs1_pem(LineEnding::CRLF).unwrap();
        assert_eq!(
            parse_public_key_pem(&pkcs1).unwrap(),
            PublicKeyKind::Rsa { bits: 2048 }
        );
        // Same key bytes either way: the PKCS#1 structure.
        assert_eq!(
            decode_public_key_pem(&spki).unwrap().key,
            decode_public_key_pem(&pkcs1).unwrap().key
        );
        // Re-wrapped on one line, with surrounding blanks: still fine.
        let body: String = spki.lines().filter(|l| !l.starts_with("-----")).collect();
        let one_line =
            format!("  \n-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n\n");
        assert!(parse_public_key_pem(&one_line).is_ok());
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        assert!(message(&rsa_public_pem(1024)).contains("at least 2048 bits"));
    }

    #[test]
    fn ec_and_ed25519_keys() {
        assert_eq!(
            parse_public_key_pem(&spki_pem(P256_SPKI, &[[4u8].as_slice(), &[7; 64]].concat()))
                .unwrap(),
            PublicKeyKind::EcP256
        );
        assert_eq!(
            parse_public_key_pem(&spki_pem(P384_SPKI, &[[4u8].as_slice(), &[7; 96]].concat()))
                .unwrap(),
            PublicKeyKind::EcP384
        );
        assert_eq!(
            parse_public_key_pem(&spki_pem(ED25519_SPKI, &[9; 32])).unwrap(),
            PublicKeyKind::Ed25519
        );
        // Not an uncompressed point of the curve.
        assert!(parse_public_key_pem(&spki_pem(P256_SPKI, &[2; 65])).is_err());
        // secp256k1 (1.3.132.0.10): not supported.
        let k1 = "3056301006072a8648ce3d020106052b8104000a034200";
        assert!(message(&spki_pem(k1, &[4; 65])).contains("not supported"));
        // X25519 (1.3.101.110) is a key-agreement key, not a signing one.
        assert!(message(&spki_pem("302a300506032b656e032100", &[1; 32])).contains("not supported"));
    }

    #[test]
    fn private_keys_and_junk_are_refused() {
        use rsa::pkcs8::EncodePrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(message(&private).contains("private keys"));
        assert!(
            message("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----")
                .contains("private keys")
        );
        assert!(
            message("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .contains("private keys")
        );
        assert!(parse_public_key_pem("hello").is_err());
        assert!(parse_public_key_pem("").is_err());
        assert!(parse_public_key_pem(
            "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----"
        )
        .is_err());
        assert!(
            parse_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(parse_public_key_pem(
            "-----BEGIN PUBLIC KEY-----\nMA==\n-----END RSA PUBLIC KEY-----"
        )
        .is_err());
        assert!(
            message("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .contains("certificates")
        );
        let two = format!("{}{}", rsa_public_pem(2048), rsa_public_pem(2048));
        assert!(parse_public_key_pem(&two).is_err());
        let huge = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            "A".repeat(17 * 1024)
        );
        assert!(message(&huge).contains("at most 16 KiB"));
    }
}
