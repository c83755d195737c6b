//! JWT-bearer assertions (RFC 7523 §3, RFC 8725; docs/user-grants.md): the
//! checks that make an app's signed JWT stand for one of its users. The header
//! is parsed here, before any key is touched, so that nothing in the token
//! chooses how it is verified. Replay (`jti`) is checked by the caller, after
//! this succeeds (JB-13: verify before recording).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::access::public_key::{decode_public_key_pem, ParsedPublicKey, PublicKeyKind};
use crate::ids::truncate;
use crate::time_fmt::Timestamp;

/// Largest assertion accepted, checked before decoding anything (JB-12).
pub const ASSERTION_MAX_BYTES: usize = 8 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat` (RFC 7523 §3 items 4–6).
pub const CLOCK_SKEW_MS: i64 = 60_000;
/// Furthest `exp` may lie ahead, so a leaked assertion is not good for long (JB-10).
pub const MAX_LIFETIME_MS: i64 = 3_600_000;
/// Longest `sub` accepted (Anypoint's `v2|…` subjects included).
pub const SUB_MAX_CHARS: usize = 1024;
/// Longest `jti` accepted: it is stored until `exp` for replay checks.
pub const JTI_MAX_CHARS: usize = 256;

/// What an assertion must match, from the app and the server (RFC 7523 §3).
#[derive(Debug, Clone, Copy)]
pub struct AssertionRules<'a> {
    /// `iss` must equal it (JB-08).
    pub client_id: &'a str,
    /// `aud` must contain one of them: the token endpoint URL or the issuer (JB-07).
    pub audiences: &'a [String],
    /// The current time.
    pub now: Timestamp,
}

/// The claims the grant goes on with once the assertion is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaims {
    /// The user the app speaks for (a username or an Anypoint `v2|…` subject).
    pub sub: String,
    /// Single-use id; the caller records it until `exp` (JB-13).
    pub jti: String,
    /// Expiry, epoch milliseconds.
    pub exp: Timestamp,
}

/// Why an assertion was refused; the message is the `error_description` of
/// the `invalid_grant` answer (RFC 7523 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssertionError {
    /// Over [`ASSERTION_MAX_BYTES`] (JB-12).
    #[error("the assertion is larger than 8 KiB")]
    TooLarge,
    /// Not a compact JWS with a JSON header and payload (JB-12).
    #[error("the assertion is not a signed JWT: {0}")]
    Malformed(&'static str),
    /// `alg` missing, `none`, HMAC or unknown (JB-02, JB-03).
    #[error("{0}")]
    Algorithm(String),
    /// A `crit` header names extensions Keyhouse does not implement (JB-17).
    #[error("the assertion has a 'crit' header, which is not supported")]
    CriticalHeader,
    /// No registered key of the right type verifies the signature.
    #[error("the assertion signature does not verify with any of the app's public keys")]
    BadSignature,
    /// A claim is missing or out of bounds; the message says which.
    #[error("{0}")]
    Claim(String),
}

fn claim(msg: impl Into<String>) -> AssertionError {
    AssertionError::Claim(msg.into())
}

/// Verifies an assertion against the app's registered PEM public keys and the
/// rules, and returns its subject, id and expiry (RFC 7523 §3, checklist JB-*).
pub fn verify_assertion(
    assertion: &str,
    public_keys: &[String],
    rules: &AssertionRules,
) -> Result<AssertionClaims, AssertionError> {
    if assertion.len() > ASSERTION_MAX_BYTES {
        return Err(AssertionError::TooLarge);
    }
    let mut parts = assertion.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AssertionError::Malformed("it must have three parts"));
    };
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if ![header_b64, payload_b64, signature_b64]
        .into_iter()
        .all(base64url)
    {
        return Err(AssertionError::Malformed(
            "each part must be non-empty base64url",
        ));
    }
    let header = json_object(header_b64)
        .ok_or(AssertionError::Malformed("the header is not a JSON object"))?;
    let alg = accepted_algorithm(&header)?;
    if header.contains_key("crit") {
        return Err(AssertionError::CriticalHeader);
    }
    // `kid`, `jwk`, `jku`, `x5u`, `x5c` are not read: every registered key of the
    // type `alg` needs is tried, and only those (JB-04).
    let signed = &assertion[..header_b64.len() + 1 + payload_b64.len()];
    let verified = public_keys
        .iter()
        .filter_map(|pem| decode_public_key_pem(pem).ok())
        .filter(|key| fits(alg, key.kind))
        .any(|key| {
            jsonwebtoken::crypto::verify(signature_b64, signed.as_bytes(), &decoding_key(&key), alg)
                .unwrap_or(false)
        });
    if !verified {
        return Err(AssertionError::BadSignature);
    }
    let claims = json_object(payload_b64).ok_or(AssertionError::Malformed(
        "the payload is not a JSON object",
    ))?;
    check_claims(&claims, rules)
}

fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The header's `alg`, if it is one Keyhouse verifies (RFC 8725 §3.1–3.2).
fn accepted_algorithm(header: &Map<String, Value>) -> Result<Algorithm, AssertionError> {
    let Some(alg) = header.get("alg").and_then(Value::as_str) else {
        return Err(AssertionError::Algorithm(
            "the assertion header must name its alg".into(),
        ));
    };
    Ok(match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ if alg.eq_ignore_ascii_case("none") => {
            return Err(AssertionError::Algorithm(
                "unsigned assertions (alg none) are refused".into(),
            ))
        }
        _ if alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) => {
            return Err(AssertionError::Algorithm(format!(
                "HMAC-signed assertions ({}) are refused: sign with a registered key pair",
                truncate(alg)
            )))
        }
        _ => {
            return Err(AssertionError::Algorithm(format!(
                "assertion algorithm '{}' is not supported",
                truncate(alg)
            )))
        }
    })
}

/// Whether a key of this type may verify `alg` (RFC 8725 §3.1: one key, one
/// algorithm family).
fn fits(alg: Algorithm, kind: PublicKeyKind) -> bool {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => matches!(kind, PublicKeyKind::Rsa { .. }),
        Algorithm::ES256 => kind == PublicKeyKind::EcP256,
        Algorithm::ES384 => kind == PublicKeyKind::EcP384,
        Algorithm::EdDSA => kind == PublicKeyKind::Ed25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => false,
    }
}

fn decoding_key(key: &ParsedPublicKey) -> DecodingKey {
    match key.kind {
        PublicKeyKind::Rsa { .. } => DecodingKey::from_rsa_der(&key.key),
        PublicKeyKind::EcP256 | PublicKeyKind::EcP384 => DecodingKey::from_ec_der(&key.key),
        PublicKeyKind::Ed25519 => DecodingKey::from_ed_der(&key.key),
    }
}

/// A NumericDate claim (RFC 7519 §2), in epoch milliseconds.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AssertionError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let millis = match value.as_i64() {
        Some(secs) => secs.checked_mul(1000),
        None => value
            .as_f64()
            .filter(|secs| secs.is_finite() && secs.abs() < 1e13)
            .map(|secs| (secs * 1000.0) as i64),
    };
    millis.map(Some).ok_or_else(|| {
        claim(format!(
            "{name} must be a number of seconds since the epoch"
        ))
    })
}

fn required_string<'c>(
    claims: &'c Map<String, Value>,
    name: &str,
    max_chars: usize,
) -> Result<&'c str, AssertionError> {
    match claims.get(name).and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v.chars().count() <= max_chars => Ok(v),
        Some(_) => Err(claim(format!("{name} must be 1 to {max_chars} characters"))),
        None => Err(claim(format!("the assertion must have a {name} claim"))),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    rules: &AssertionRules,
) -> Result<AssertionClaims, AssertionError> {
    let now = rules.now.0;
    if claims.get("iss").and_then(Value::as_str) != Some(rules.client_id) {
        return Err(claim("iss must be the client id"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(claim("aud must be a string or an array of strings")),
        None => return Err(claim("the assertion must have an aud claim")),
    };
    if !audiences
        .iter()
        .any(|aud| rules.audiences.iter().any(|ours| ours == aud))
    {
        return Err(claim("aud must be the token endpoint URL or the issuer"));
    }
    let exp = numeric_date(claims, "exp")?
        .ok_or_else(|| claim("the assertion must have an exp claim"))?;
    if exp <= now - CLOCK_SKEW_MS {
        return Err(claim("the assertion has expired"));
    }
    if exp > now + MAX_LIFETIME_MS + CLOCK_SKEW_MS {
        return Err(claim("exp must be at most one hour ahead"));
    }
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now + CLOCK_SKEW_MS) {
        return Err(claim("the assertion is not valid yet (nbf)"));
    }
    if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now + CLOCK_SKEW_MS) {
        return Err(claim("iat is in the future"));
    }
    let sub = required_string(claims, "sub", SUB_MAX_CHARS)?;
    let jti = required_string(claims, "jti", JTI_MAX_CHARS)?;
    Ok(AssertionClaims {
        sub: sub.to_owned(),
        jti: jti.to_owned(),
        exp: Timestamp(exp),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::access::public_key::tests::{spki_pem, ED25519_SPKI, P256_SPKI};
    use jsonwebtoken::EncodingKey;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use serde_json::json;
    use std::sync::OnceLock;

    const NOW: Timestamp = Timestamp(1_700_000_000_000);
    const TOKEN_URL: &str = "https://kh.example/accounts/api/v2/oauth2/token";

    /// (private PKCS#8 PEM, public SPKI PEM), generated once per test run.
    fn rsa_pair(slot: &'static OnceLock<(String, String)>) -> &'static (String, String) {
        slot.get_or_init(|| {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
            let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
            let public = key
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap();
            (private, public)
        })
    }
    fn app_key() -> &'static (String, String) {
        static KEY: OnceLock<(String, String)> = OnceLock::new();
        rsa_pair(&KEY)
    }
    fn attacker_key() -> &'static (String, String) {
        static KEY: OnceLock<(String, String)> = OnceLock::new();
        rsa_pair(&KEY)
    }
    fn rsa_signer(pair: &(String, String)) -> EncodingKey {
        EncodingKey::from_rsa_pem(pair.0.as_bytes()).unwrap()
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// A compact JWS with exactly this header, signed with `alg`.
    fn token(header: Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
        let signed = format!("{}.{}", b64(&header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(signed.as_bytes(), key, alg).unwrap();
        format!("{signed}.{signature}")
    }

    fn claims() -> Value {
        json!({"iss": "app-1", "sub": "max", "aud": TOKEN_URL, "jti": "j-1",
               "exp": NOW.0 / 1000 + 300, "iat": NOW.0 / 1000, "nbf": NOW.0 / 1000 - 5})
    }

    fn rs256(claims: &Value) -> String {
        token(
            json!({"alg": "RS256", "typ": "JWT"}),
            claims,
            &rsa_signer(app_key()),
            Algorithm::RS256,
        )
    }

    fn verify_with(assertion: &str, keys: &[String]) -> Result<AssertionClaims, AssertionError> {
        let audiences = [TOKEN_URL.to_owned(), "https://kh.example".to_owned()];
        let rules = AssertionRules {
            client_id: "app-1",
            audiences: &audiences,
            now: NOW,
        };
        verify_assertion(assertion, keys, &rules)
    }

    fn verify(assertion: &str) -> Result<AssertionClaims, AssertionError> {
        verify_with(assertion, std::slice::from_ref(&app_key().1))
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut value = claims();
        change(value.as_object_mut().unwrap());
        value
    }

    fn claim_error(claims: &Value) -> String {
        match verify(&rs256(claims)) {
            Err(AssertionError::Claim(msg)) => msg,
            other => panic!("expected a claim error, got {other:?}"),
        }
    }

    #[test]
    fn valid_assertions_are_accepted() {
        let ok = verify(&rs256(&claims())).unwrap();
        assert_eq!(ok.sub, "max");
        assert_eq!(ok.jti, "j-1");
        assert_eq!(ok.exp, Timestamp(NOW.0 + 300_000));
        // aud as an array holding the issuer; PS256; kid ignored; junk keys skipped.
        let issuer = with(|c| drop(c.insert("aud".into(), json!(["x", "https://kh.example"]))));
        assert!(verify(&rs256(&issuer)).is_ok());
        let ps = token(
            json!({"alg": "PS256", "kid": "whatever"}),
            &claims(),
            &rsa_signer(app_key()),
            Algorithm::PS256,
        );
        let keys = [
            "junk".to_owned(),
            attacker_key().1.clone(),
            app_key().1.clone(),
        ];
        assert!(verify_with(&ps, &keys).is_ok());
    }

    #[test]
    fn ec_and_ed25519_keys_verify_their_algorithms_only() {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let ed_pem = spki_pem(ED25519_SPKI, pair.public_key().as_ref());
        let ed = token(
            json!({"alg": "EdDSA"}),
            &claims(),
            &EncodingKey::from_ed_der(doc.as_ref()),
            Algorithm::EdDSA,
        );
        assert!(verify_with(&ed, std::slice::from_ref(&ed_pem)).is_ok());
        assert_eq!(verify(&ed), Err(AssertionError::BadSignature));

        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
        let ec_pem = spki_pem(P256_SPKI, pair.public_key().as_ref());
        let es = token(
            json!({"alg": "ES256"}),
            &claims(),
            &EncodingKey::from_ec_der(doc.as_ref()),
            Algorithm::ES256,
        );
        assert!(verify_with(&es, &[ed_pem.clone(), ec_pem.clone()]).is_ok());
        // The same token relabelled ES384 or EdDSA finds no fitting key.
        let relabel = |alg: &str| {
            let rest = es.split_once('.').unwrap().1;
            format!("{}.{rest}", b64(&json!({"alg": alg})))
        };
        assert_eq!(
            verify_with(&relabel("ES384"), std::slice::from_ref(&ec_pem)),
            Err(AssertionError::BadSignature)
        );
        assert_eq!(
            verify_with(&relabel("EdDSA"), &[ec_pem, ed_pem]),
            Err(AssertionError::BadSignature)
        );
    }

    #[test]
    fn unsigned_and_hmac_assertions_are_refused() {
        let body = b64(&claims());
        for alg in ["none", "None", "NONE"] {
            let unsigned = format!("{}.{body}.", b64(&json!({"alg": alg})));
            assert!(matches!(
                verify(&unsigned),
                Err(AssertionError::Malformed(_))
            ));
            let faked = format!("{}.{body}.AAAA", b64(&json!({"alg": alg})));
            assert!(
                matches!(verify(&faked), Err(AssertionError::Algorithm(m)) if m.contains("alg none"))
            );
        }
        // Algorithm confusion: HMAC keyed with the app's public PEM (RFC 8725 §2.1).
        let hmac = EncodingKey::from_secret(app_key().1.as_bytes());
        for alg in [Algorithm::HS256, Algorithm::HS512] {
            let forged = token(json!({"alg": format!("{alg:?}")}), &claims(), &hmac, alg);
            assert!(
                matches!(verify(&forged), Err(AssertionError::Algorithm(m)) if m.contains("HMAC"))
            );
        }
        let odd = format!("{}.{body}.AAAA", b64(&json!({"alg": "rs256"})));
        assert!(matches!(verify(&odd), Err(AssertionError::Algorithm(_))));
        let none = format!("{}.{body}.AAAA", b64(&json!({"typ": "JWT"})));
        assert!(matches!(verify(&none), Err(AssertionError::Algorithm(_))));
    }

    #[test]
    fn only_registered_keys_count() {
        let foreign = token(
            json!({"alg": "RS256"}),
            &claims(),
            &rsa_signer(attacker_key()),
            Algorithm::RS256,
        );
        assert_eq!(verify(&foreign), Err(AssertionError::BadSignature));
        // The attacker's key embedded as `jwk` (and named by jku/x5u) is not used.
        let jwk = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
        let header = json!({"alg": "RS256", "jwk": jwk, "jku": "https://evil.example/jwks", "x5u": "https://evil.example/c"});
        let embedded = token(
            header,
            &claims(),
            &rsa_signer(attacker_key()),
            Algorithm::RS256,
        );
        assert_eq!(verify(&embedded), Err(AssertionError::BadSignature));
        assert_eq!(
            verify_with(&rs256(&claims()), &[]),
            Err(AssertionError::BadSignature)
        );
        let crit = token(
            json!({"alg": "RS256", "crit": ["exp"], "exp": 1}),
            &claims(),
            &rsa_signer(app_key()),
            Algorithm::RS256,
        );
        assert_eq!(verify(&crit), Err(AssertionError::CriticalHeader));
    }

    #[test]
    fn tampering_and_junk_are_refused() {
        let good = rs256(&claims());
        let (signed, signature) = good.rsplit_once('.').unwrap();
        let (header, _) = signed.split_once('.').unwrap();
        let other = b64(&with(|c| drop(c.insert("sub".into(), json!("admin")))));
        assert_eq!(
            verify(&format!("{header}.{other}.{signature}")),
            Err(AssertionError::BadSignature)
        );
        assert!(matches!(
            verify(&format!("{signed}.")),
            Err(AssertionError::Malformed(_))
        ));
        assert!(matches!(verify(signed), Err(AssertionError::Malformed(_))));
        assert!(matches!(
            verify(&format!("{good}.x")),
            Err(AssertionError::Malformed(_))
        ));
        assert_eq!(verify(&"a".repeat(9 * 1024)), Err(AssertionError::TooLarge));
        let padded = format!("{}.{}.{signature}", b64(&claims()), "e30=");
        assert!(matches!(verify(&padded), Err(AssertionError::Malformed(_))));
        assert!(matches!(
            verify("abc.d*f.ghi"),
            Err(AssertionError::Malformed(_))
        ));
        assert!(matches!(verify(""), Err(AssertionError::Malformed(_))));
        let array_header = format!("{}.{}.{signature}", b64(&json!(["RS256"])), b64(&claims()));
        assert!(matches!(
            verify(&array_header),
            Err(AssertionError::Malformed(_))
        ));
        // A signed payload that is not an object.
        let list = token(
            json!({"alg": "RS256"}),
            &json!([1]),
            &rsa_signer(app_key()),
            Algorithm::RS256,
        );
        assert!(matches!(verify(&list), Err(AssertionError::Malformed(_))));
    }

    #[test]
    fn claims_are_checked() {
        let secs = NOW.0 / 1000;
        let set = |name: &str, v: Value| with(|c| drop(c.insert(name.into(), v)));
        let drop_claim = |name: &str| with(|c| drop(c.remove(name)));
        assert!(claim_error(&set("iss", json!("app-2"))).contains("iss"));
        assert!(claim_error(&drop_claim("iss")).contains("iss"));
        assert!(claim_error(&set("aud", json!("https://elsewhere.example"))).contains("aud"));
        assert!(claim_error(&set("aud", json!(["a", "b"]))).contains("aud"));
        assert!(claim_error(&set("aud", json!(7))).contains("aud"));
        assert!(claim_error(&drop_claim("aud")).contains("aud"));
        assert!(claim_error(&drop_claim("exp")).contains("exp"));
        assert!(claim_error(&set("exp", json!("soon"))).contains("exp"));
        assert!(claim_error(&set("exp", json!(secs - 61))).contains("expired"));
        assert!(verify(&rs256(&set("exp", json!(secs - 59)))).is_ok()); // within skew
        assert!(claim_error(&set("exp", json!(secs + 3600 + 61))).contains("one hour"));
        assert!(verify(&rs256(&set("exp", json!(secs + 3600 + 59)))).is_ok());
        assert!(verify(&rs256(&set("exp", json!(secs as f64 + 10.5)))).is_ok());
        assert!(claim_error(&set("nbf", json!(secs + 61))).contains("nbf"));
        assert!(verify(&rs256(&set("nbf", json!(secs + 59)))).is_ok());
        assert!(claim_error(&set("iat", json!(secs + 61))).contains("iat"));
        assert!(claim_error(&drop_claim("sub")).contains("sub"));
        assert!(claim_error(&set("sub", json!(""))).contains("sub"));
        assert!(claim_error(&set("sub", json!("s".repeat(1025)))).contains("sub"));
        assert!(claim_error(&drop_claim("jti")).contains("jti"));
        assert!(claim_error(&set("jti", json!(42))).contains("jti"));
        assert!(claim_error(&set("jti", json!("j".repeat(257)))).contains("jti"));
        assert!(verify(&rs256(&drop_claim("nbf"))).is_ok());
        assert!(verify(&rs256(&drop_claim("iat"))).is_ok());
    }
}
