//! SAML 2.0 service provider (issue 6 §2, §3): validation of responses from
//! an organization's SAML identity provider, written against the checklist's
//! SM rules rather than as a general XML-security library.
//!
//! Why by hand: the Rust SAML crates either bind libxmlsec1 (C libraries and
//! libclang at build time, for the default build too) or are general
//! pre-release XML-security stacks of a quarter-million lines. SAML needs one
//! narrow profile — enveloped RSA-SHA2 signatures, exclusive
//! canonicalization, same-document references by ID — and a narrow profile
//! is what keeps signature wrapping out. Tests sign responses with
//! `xmlsec1`, the reference implementation, so the verifier is checked
//! against an independent signer.

pub mod c14n;
pub mod dsig;
pub mod response;
pub mod xml;

pub use dsig::{CertificateError, SignatureError, TrustedKeys};
pub use response::{
    decode_response, validate_parsed, validate_response, Expected, SamlAssertion, SamlError,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
