//! The verifier against responses signed by `xmlsec1` (testdata/, made with
//! `xmlsec1 --sign --id-attr:ID …` from a template) and against the attacks
//! of checklist SM-01..SM-09, each made by editing a signed response.

use super::c14n::canonicalize;
use super::dsig::SignatureError;
use super::response::{validate_response, Expected, SamlError};
use super::xml::{parse, XmlError};
use super::TrustedKeys;
use crate::time_fmt::Timestamp;

const ASSERTION_SIGNED: &str = include_str!("testdata/assertion-signed.xml");
const RESPONSE_SIGNED: &str = include_str!("testdata/response-signed.xml");
const IDP_CERT: &str = include_str!("testdata/idp-cert.pem");
const OTHER_CERT: &str = include_str!("testdata/other-cert.pem");
const ACS: &str = "https://sp.example.test/accounts/login/receive-id";
/// 2030-01-01T00:01:00Z, inside the fixtures' validity window.
const NOW: i64 = 1_893_456_060_000;

fn keys(cert: &str) -> TrustedKeys {
    TrustedKeys::from_certificates(&[cert.to_owned()]).unwrap()
}

fn check_with(
    xml: &str,
    cert: &str,
    now: i64,
    sp: &str,
    irt: Option<&str>,
) -> Result<super::SamlAssertion, SamlError> {
    let keys = keys(cert);
    let acs = [ACS.to_owned()];
    validate_response(
        xml,
        &Expected {
            idp_entity_id: "https://idp.example.test/metadata",
            keys: &keys,
            sp_entity_id: sp,
            acs_urls: &acs,
            in_response_to: irt,
            now: Timestamp(now),
        },
    )
}

fn check(xml: &str) -> Result<super::SamlAssertion, SamlError> {
    check_with(xml, IDP_CERT, NOW, "https://sp.example.test", None)
}

fn invalid(result: Result<super::SamlAssertion, SamlError>) -> String {
    match result {
        Err(SamlError::Invalid(message)) => message,
        other => panic!("expected a SAML rule failure, got {other:?}"),
    }
}

#[test]
fn an_assertion_signed_by_xmlsec1_is_accepted() {
    let assertion = check(ASSERTION_SIGNED).unwrap();
    assert_eq!(assertion.id, "_assert1");
    assert_eq!(assertion.name_id, "ada@example.test");
    assert_eq!(assertion.session_index.as_deref(), Some("_session1"));
    assert_eq!(assertion.attribute("firstName"), Some("Ada & \"Co\""));
    assert_eq!(assertion.attribute_values("groups"), ["admins", "devs"]);
    assert_eq!(assertion.expires_at, Timestamp(1_893_456_300_000));
}

#[test]
fn a_response_signed_by_xmlsec1_covers_its_assertion() {
    let assertion = check(RESPONSE_SIGNED).unwrap();
    assert_eq!(assertion.name_id, "ada@example.test");
}

#[test]
fn another_certificate_does_not_verify() {
    let result = check_with(
        ASSERTION_SIGNED,
        OTHER_CERT,
        NOW,
        "https://sp.example.test",
        None,
    );
    assert_eq!(result, Err(SamlError::Signature(SignatureError::Signature)));
}

#[test]
fn a_changed_subject_breaks_the_digest() {
    let forged = ASSERTION_SIGNED.replace(
        ">ada@example.test</saml:NameID>",
        ">admin@example.test</saml:NameID>",
    );
    assert_eq!(
        check(&forged),
        Err(SamlError::Signature(SignatureError::Digest))
    );
    let forged = RESPONSE_SIGNED.replace(
        ">ada@example.test</saml:NameID>",
        ">admin@example.test</saml:NameID>",
    );
    assert_eq!(
        check(&forged),
        Err(SamlError::Signature(SignatureError::Digest))
    );
}

#[test]
fn a_comment_cannot_cut_the_subject_short() {
    // CVE-2017-11428: canonicalization drops comments, so the signature still
    // verifies; the subject must be read whole, never up to the comment.
    let commented = ASSERTION_SIGNED.replace(">ada@example.test<", ">ada@example<!-- x -->.test<");
    assert_eq!(check(&commented).unwrap().name_id, "ada@example.test");
}

#[test]
fn an_unsigned_response_is_refused() {
    let start = ASSERTION_SIGNED.find("<ds:Signature").unwrap();
    let end = ASSERTION_SIGNED.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &ASSERTION_SIGNED[..start], &ASSERTION_SIGNED[end..]);
    assert_eq!(invalid(check(&unsigned)), "the response is not signed");
}

/// The signed assertion, whole, as text.
fn signed_assertion_text() -> &'static str {
    let start = ASSERTION_SIGNED.find("<saml:Assertion").unwrap();
    let end = ASSERTION_SIGNED.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &ASSERTION_SIGNED[start..end]
}

#[test]
fn signature_wrapping_is_refused() {
    let original = signed_assertion_text();
    let evil = original
        .replace("ada@example.test", "admin@example.test")
        .replace("ID=\"_assert1\"", "ID=\"_evil\"");
    let start = evil.find("<ds:Signature").unwrap();
    let end = evil.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let evil_unsigned = format!("{}{}", &evil[..start], &evil[end..]);
    // XSW: a forged assertion before the signed one.
    let two = ASSERTION_SIGNED.replace(original, &format!("{evil_unsigned}{original}"));
    assert!(invalid(check(&two)).contains("exactly one assertion"));
    // The signed assertion hidden in Extensions, a forged one in its place.
    let hidden = ASSERTION_SIGNED.replace(
        original,
        &format!("<samlp:Extensions>{original}</samlp:Extensions>{evil_unsigned}"),
    );
    assert!(invalid(check(&hidden)).contains("exactly one assertion"));
    // The signed assertion wrapped inside the forged one.
    let nested = ASSERTION_SIGNED.replace(
        original,
        &evil_unsigned.replace("</saml:Assertion>", &format!("{original}</saml:Assertion>")),
    );
    assert!(invalid(check(&nested)).contains("exactly one assertion"));
    // The only assertion carries a signature copied from elsewhere (the
    // reference then names an ID that is not the assertion's).
    let copied_signature = ASSERTION_SIGNED.replace("ID=\"_assert1\"", "ID=\"_other\"");
    assert_eq!(
        check(&copied_signature),
        Err(SamlError::Signature(SignatureError::Structure(
            "the reference does not point at the signed element"
        )))
    );
}

#[test]
fn a_signature_elsewhere_is_refused() {
    // A decoy signature in Extensions next to an unsigned assertion.
    let original = signed_assertion_text();
    let start = original.find("<ds:Signature").unwrap();
    let end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &original[start..end];
    let unsigned = format!("{}{}", &original[..start], &original[end..]);
    let decoy = ASSERTION_SIGNED.replace(
        original,
        &format!("<samlp:Extensions>{signature}</samlp:Extensions>{unsigned}"),
    );
    assert_eq!(
        invalid(check(&decoy)),
        "a signature sits where none is expected"
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let twice = ASSERTION_SIGNED.replace("ID=\"_resp1\"", "ID=\"_assert1\"");
    assert_eq!(invalid(check(&twice)), "two elements share one ID");
}

#[test]
fn dtds_and_entities_are_refused() {
    let body = ASSERTION_SIGNED.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let xxe = format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{body}");
    assert_eq!(
        check(&xxe),
        Err(SamlError::Xml(XmlError::Forbidden(
            "document type declarations"
        )))
    );
    let laughs = format!("<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{body}");
    assert!(matches!(check(&laughs), Err(SamlError::Xml(_))));
    let entity = ASSERTION_SIGNED.replace(">ada@example.test<", ">&ent;<");
    assert_eq!(
        check(&entity),
        Err(SamlError::Xml(XmlError::Forbidden("entity references")))
    );
    let pi = ASSERTION_SIGNED.replace("<saml:Subject>", "<?evil x?><saml:Subject>");
    assert_eq!(
        check(&pi),
        Err(SamlError::Xml(XmlError::Forbidden(
            "processing instructions"
        )))
    );
}

#[test]
fn sha1_signatures_are_refused() {
    let sha1 = ASSERTION_SIGNED.replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    );
    assert!(matches!(
        check(&sha1),
        Err(SamlError::Signature(SignatureError::Algorithm(_)))
    ));
}

#[test]
fn conditions_are_enforced() {
    let other_sp = check_with(
        ASSERTION_SIGNED,
        IDP_CERT,
        NOW,
        "https://other.example.test",
        None,
    );
    assert_eq!(
        invalid(other_sp),
        "the assertion is meant for another service provider"
    );
    let late = check_with(
        ASSERTION_SIGNED,
        IDP_CERT,
        NOW + 10 * 60_000,
        "https://sp.example.test",
        None,
    );
    assert_eq!(invalid(late), "the assertion has expired");
    let early = check_with(
        ASSERTION_SIGNED,
        IDP_CERT,
        NOW - 15 * 60_000,
        "https://sp.example.test",
        None,
    );
    assert_eq!(invalid(early), "the assertion is not valid yet");
    let solicited = check_with(
        ASSERTION_SIGNED,
        IDP_CERT,
        NOW,
        "https://sp.example.test",
        Some("_req1"),
    );
    assert_eq!(
        invalid(solicited),
        "the assertion does not answer Keyhouse's request"
    );
}

#[test]
fn recipient_and_destination_must_be_this_endpoint() {
    let keys = keys(IDP_CERT);
    let acs = ["https://sp.example.test/other".to_owned()];
    let result = validate_response(
        ASSERTION_SIGNED,
        &Expected {
            idp_entity_id: "https://idp.example.test/metadata",
            keys: &keys,
            sp_entity_id: "https://sp.example.test",
            acs_urls: &acs,
            in_response_to: None,
            now: Timestamp(NOW),
        },
    );
    assert_eq!(
        invalid(result),
        "the response's Destination is not this endpoint"
    );
}

#[test]
fn exclusive_canonicalization_renders_only_used_namespaces() {
    let doc = parse(
        "<a:r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns=\"urn:d\" z=\"1\" b:y=\"2\" a=\"&#xA;\"><b:c>x &amp; &lt;y&gt;<!-- no --></b:c><e/></a:r>",
    )
    .unwrap();
    let out = String::from_utf8(canonicalize(&doc, None, &[])).unwrap();
    assert_eq!(
        out,
        "<a:r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" a=\"&#xA;\" z=\"1\" b:y=\"2\"><b:c>x &amp; &lt;y&gt;</b:c><e xmlns=\"urn:d\"></e></a:r>"
    );
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    for bad in [
        "",
        "<",
        "<a>",
        "<a></b>",
        "<a x='1' x='2'/>",
        "<p:a/>",
        "text",
        "<a/><b/>",
        "<a>&#0;</a>",
    ] {
        assert!(parse(bad).is_err(), "{bad} parsed");
    }
}
