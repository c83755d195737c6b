//! XML-DSig verification for SAML, as narrow as SAML needs (checklist
//! SM-04, SM-09): an enveloped signature whose one `Reference` points by ID
//! at the element that holds it, exclusive canonicalization only, RSA with
//! SHA-256/384/512 only (SHA-1 refused), and keys from the provider's
//! configured certificates only (`KeyInfo` is never read). The caller
//! consumes exactly the element it asked about, never a node found by a
//! second search, so signature wrapping has nothing to hook into.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use thiserror::Error;
use x509_cert::der::{Decode, Encode};

use super::c14n::canonicalize;
use super::xml::Element;

/// The XML-DSig namespace.
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive canonicalization without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Why a signature was not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature's structure is not the one SAML signatures have.
    #[error("signature structure not accepted: {0}")]
    Structure(&'static str),
    /// An algorithm outside the allow-list.
    #[error("signature algorithm not accepted: {0}")]
    Algorithm(String),
    /// The digest of the signed element does not match.
    #[error("the signed content was changed (digest mismatch)")]
    Digest,
    /// No configured certificate verifies the signature value.
    #[error("the signature is not from the provider's certificate")]
    Signature,
}

/// A configured certificate could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct CertificateError(pub String);

/// The provider's signing keys, from the certificates an administrator
/// configured (the only keys a signature is checked against).
#[derive(Clone)]
pub struct TrustedKeys(Vec<RsaPublicKey>);

impl std::fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedKeys({} keys)", self.0.len())
    }
}

impl TrustedKeys {
    /// Reads PEM certificates (or bare base64 DER, as metadata carries them);
    /// RSA keys of at least 2048 bits only.
    pub fn from_certificates(certificates: &[String]) -> Result<Self, CertificateError> {
        let keys = certificates
            .iter()
            .map(|c| certificate_key(c))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(CertificateError(
                "at least one certificate is required".into(),
            ));
        }
        Ok(Self(keys))
    }
}

/// The RSA public key of one certificate.
fn certificate_key(text: &str) -> Result<RsaPublicKey, CertificateError> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| CertificateError("the certificate is not PEM or base64 DER".into()))?;
    let certificate = x509_cert::Certificate::from_der(&der)
        .map_err(|_| CertificateError("the certificate is not a valid X.509 certificate".into()))?;
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| CertificateError("the certificate's key cannot be read".into()))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| CertificateError("the certificate's key must be an RSA key".into()))?;
    if rsa::traits::PublicKeyParts::size(&key) < 256 {
        return Err(CertificateError(
            "the certificate's RSA key must have at least 2048 bits".into(),
        ));
    }
    Ok(key)
}

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn of_digest_method(uri: &str) -> Result<Self, SignatureError> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#sha256" => Ok(Hash::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Ok(Hash::Sha384),
            "http://www.w3.org/2001/04/xmlenc#sha512" => Ok(Hash::Sha512),
            other => Err(SignatureError::Algorithm(other.chars().take(100).collect())),
        }
    }

    fn of_signature_method(uri: &str) -> Result<Self, SignatureError> {
        match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Ok(Hash::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Ok(Hash::Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Ok(Hash::Sha512),
            other => Err(SignatureError::Algorithm(other.chars().take(100).collect())),
        }
    }
}

fn structure(what: &'static str) -> SignatureError {
    SignatureError::Structure(what)
}

/// The `PrefixList` of an `InclusiveNamespaces` child of `method`, if any.
fn inclusive_prefixes(method: &Element) -> Result<Vec<String>, SignatureError> {
    let mut lists = method.elements();
    let Some(first) = lists.next() else {
        return Ok(Vec::new());
    };
    if lists.next().is_some() || !first.is(EXC_C14N, "InclusiveNamespaces") {
        return Err(structure("unexpected content in a canonicalization method"));
    }
    Ok(first
        .attr("PrefixList")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect())
}

fn algorithm(el: &Element) -> Result<&str, SignatureError> {
    el.attr("Algorithm")
        .ok_or(structure("an algorithm is not named"))
}

fn base64_text(el: &Element) -> Result<Vec<u8>, SignatureError> {
    let compact: String = el.text().split_ascii_whitespace().collect();
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| structure("a value is not base64"))
}

/// Checks that `signature`, a direct child of `signed`, is a valid enveloped
/// signature over `signed` by one of `keys`.
pub fn verify_enveloped(
    signed: &Element,
    signature: &Element,
    keys: &TrustedKeys,
) -> Result<(), SignatureError> {
    let id = signed
        .attr("ID")
        .filter(|id| !id.is_empty())
        .ok_or(structure("the signed element has no ID"))?;
    for child in signature.elements() {
        let known = child.namespace == DS
            && matches!(
                child.local.as_str(),
                "SignedInfo" | "SignatureValue" | "KeyInfo"
            );
        if !known {
            return Err(structure("unexpected element in the signature"));
        }
    }
    let signed_info = signature
        .only_child(DS, "SignedInfo")
        .ok_or(structure("one SignedInfo is required"))?;
    let value = signature
        .only_child(DS, "SignatureValue")
        .ok_or(structure("one SignatureValue is required"))?;
    let c14n_method = signed_info
        .only_child(DS, "CanonicalizationMethod")
        .ok_or(structure("one CanonicalizationMethod is required"))?;
    if algorithm(c14n_method)? != EXC_C14N {
        return Err(SignatureError::Algorithm(
            algorithm(c14n_method)?.chars().take(100).collect(),
        ));
    }
    let signed_info_prefixes = inclusive_prefixes(c14n_method)?;
    let method = signed_info
        .only_child(DS, "SignatureMethod")
        .ok_or(structure("one SignatureMethod is required"))?;
    let signature_hash = Hash::of_signature_method(algorithm(method)?)?;
    let reference = signed_info
        .only_child(DS, "Reference")
        .ok_or(structure("exactly one Reference is required"))?;
    if signed_info.elements().count() != 3 {
        return Err(structure("unexpected element in SignedInfo"));
    }
    if reference.attr("URI") != Some(&format!("#{id}")) {
        return Err(structure(
            "the reference does not point at the signed element",
        ));
    }
    let prefixes = reference_transforms(reference)?;
    let digest_method = reference
        .only_child(DS, "DigestMethod")
        .ok_or(structure("one DigestMethod is required"))?;
    let digest_hash = Hash::of_digest_method(algorithm(digest_method)?)?;
    let expected = base64_text(
        reference
            .only_child(DS, "DigestValue")
            .ok_or(structure("one DigestValue is required"))?,
    )?;
    let actual = digest_hash.digest(&canonicalize(signed, Some(signature), &prefixes));
    if !bool::from(actual.ct_eq(&expected)) {
        return Err(SignatureError::Digest);
    }
    let canonical_signed_info = canonicalize(signed_info, None, &signed_info_prefixes);
    let signature_bytes = base64_text(value)?;
    let signature =
        Signature::try_from(signature_bytes.as_slice()).map_err(|_| SignatureError::Signature)?;
    let verified = keys.0.iter().any(|key| {
        let key = key.clone();
        match signature_hash {
            Hash::Sha256 => VerifyingKey::<Sha256>::new(key)
                .verify(&canonical_signed_info, &signature)
                .is_ok(),
            Hash::Sha384 => VerifyingKey::<Sha384>::new(key)
                .verify(&canonical_signed_info, &signature)
                .is_ok(),
            Hash::Sha512 => VerifyingKey::<Sha512>::new(key)
                .verify(&canonical_signed_info, &signature)
                .is_ok(),
        }
    });
    if verified {
        Ok(())
    } else {
        Err(SignatureError::Signature)
    }
}

/// The reference's transforms must be exactly enveloped-signature then
/// exclusive canonicalization; returns the latter's inclusive prefixes.
fn reference_transforms(reference: &Element) -> Result<Vec<String>, SignatureError> {
    let transforms = reference
        .only_child(DS, "Transforms")
        .ok_or(structure("one Transforms is required"))?;
    let list: Vec<&Element> = transforms.elements().collect();
    let [enveloped, c14n] = list.as_slice() else {
        return Err(structure(
            "the transforms must be enveloped-signature and exclusive canonicalization",
        ));
    };
    if !enveloped.is(DS, "Transform") || !c14n.is(DS, "Transform") {
        return Err(structure("unexpected element in Transforms"));
    }
    if algorithm(enveloped)? != ENVELOPED || enveloped.elements().next().is_some() {
        return Err(SignatureError::Algorithm(
            algorithm(enveloped)?.chars().take(100).collect(),
        ));
    }
    if algorithm(c14n)? != EXC_C14N {
        return Err(SignatureError::Algorithm(
            algorithm(c14n)?.chars().take(100).collect(),
        ));
    }
    inclusive_prefixes(c14n)
}
