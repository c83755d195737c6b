//! Validation of a SAML 2.0 `Response` for the Web Browser SSO profile
//! (SAML Profiles §4.1.4; checklist SM-01..SM-09): one XML parse, one
//! assertion at a fixed place, every signature present verified, at least
//! one of them covering the assertion, then issuer, audience, destination,
//! recipient, time window and `InResponseTo` — and only then the subject and
//! attributes are read, from that same assertion node.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::dsig::{verify_enveloped, SignatureError, TrustedKeys, DS};
use super::xml::{parse, Element, XmlError};
use crate::time_fmt::Timestamp;

/// The SAML 2.0 protocol namespace.
pub const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 assertion namespace.
pub const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Largest `SAMLResponse` accepted, base64 as posted (checklist SM-06).
pub const MAX_ENCODED_BYTES: usize = 512 * 1024;
/// Clock skew allowed on every time condition (checklist SM-05: ≤ 3 min).
pub const CLOCK_SKEW_MS: i64 = 120_000;
/// Longest subject (`NameID`) accepted.
const NAME_ID_MAX_CHARS: usize = 255;

/// Why a response was refused. The message is safe to show and to log.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SamlError {
    /// Not base64, too large, not UTF-8.
    #[error("SAMLResponse is not a base64-encoded SAML response: {0}")]
    Encoding(&'static str),
    /// Malformed or forbidden XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// A signature is missing, malformed or does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A SAML rule is broken (issuer, audience, time, structure, ...).
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> SamlError {
    SamlError::Invalid(message.into())
}

/// What the response must match, from the provider and this server.
pub struct Expected<'a> {
    /// The provider's entity id (`Issuer`).
    pub idp_entity_id: &'a str,
    /// The provider's certificates.
    pub keys: &'a TrustedKeys,
    /// Keyhouse's entity id (`Audience`).
    pub sp_entity_id: &'a str,
    /// The URL the response was posted to (`Destination`, `Recipient`).
    pub acs_urls: &'a [String],
    /// The id of the request this answers (SP-initiated); `None`: the
    /// response must be unsolicited (no `InResponseTo`).
    pub in_response_to: Option<&'a str>,
    /// Now.
    pub now: Timestamp,
}

/// An assertion that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAssertion {
    /// The assertion's `ID` (single use: the caller records it).
    pub id: String,
    /// The subject's `NameID`.
    pub name_id: String,
    /// `AuthnStatement/@SessionIndex`, for single logout.
    pub session_index: Option<String>,
    /// Until when the assertion may be presented (its id must be remembered
    /// until then).
    pub expires_at: Timestamp,
    /// Attributes by name, with every value.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl SamlAssertion {
    /// The first non-blank value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, values)| values.iter().find(|v| !v.trim().is_empty()))
            .map(String::as_str)
    }

    /// Every value of attribute `name`.
    pub fn attribute_values(&self, name: &str) -> &[String] {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }
}

/// Decodes a posted `SAMLResponse` (base64, white space allowed) into XML text.
pub fn decode_response(encoded: &str) -> Result<String, SamlError> {
    if encoded.len() > MAX_ENCODED_BYTES {
        return Err(SamlError::Encoding("too large"));
    }
    let compact: String = encoded.split_ascii_whitespace().collect();
    if compact.is_empty() {
        return Err(SamlError::Encoding("empty"));
    }
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| SamlError::Encoding("not base64"))?;
    String::from_utf8(bytes).map_err(|_| SamlError::Encoding("not UTF-8"))
}

/// Parses an `xs:dateTime` in UTC (SAML Core §1.3.3).
fn instant(raw: &str, what: &str) -> Result<Timestamp, SamlError> {
    let at = OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| invalid(format!("{what} is not a valid time")))?;
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms)
        .map(Timestamp)
        .map_err(|_| invalid(format!("{what} is out of range")))
}

fn optional_instant(el: &Element, attr: &str, what: &str) -> Result<Option<Timestamp>, SamlError> {
    el.attr(attr).map(|raw| instant(raw, what)).transpose()
}

/// Validates a response and returns its assertion.
pub fn validate_response(xml: &str, expected: &Expected<'_>) -> Result<SamlAssertion, SamlError> {
    validate_parsed(&parse(xml)?, expected)
}

/// [`validate_response`] on a tree already parsed (one parse serves the
/// provider lookup and every candidate provider's check).
pub fn validate_parsed(
    response: &Element,
    expected: &Expected<'_>,
) -> Result<SamlAssertion, SamlError> {
    if !response.is(PROTOCOL, "Response") {
        return Err(invalid("the message is not a SAML Response"));
    }
    if response.attr("Version") != Some("2.0") {
        return Err(invalid("the response is not SAML 2.0"));
    }
    let assertion = the_assertion(response)?;
    check_signatures(response, assertion, expected.keys)?;
    check_status(response)?;
    if let Some(destination) = response.attr("Destination") {
        if !expected.acs_urls.iter().any(|u| u == destination) {
            return Err(invalid("the response's Destination is not this endpoint"));
        }
    }
    if let Some(issuer) = response.only_child(ASSERTION, "Issuer") {
        if issuer.text().trim() != expected.idp_entity_id {
            return Err(invalid("the response's Issuer is not the provider"));
        }
    }
    if let Some(answered) = response.attr("InResponseTo") {
        if Some(answered) != expected.in_response_to {
            return Err(invalid(
                "the response answers a request Keyhouse did not send",
            ));
        }
    }
    read_assertion(assertion, expected)
}

/// The one assertion, a direct child of the response. More than one, one
/// elsewhere (e.g. hidden in `Extensions`), or an encrypted one: refused
/// (CVE-2022-41912, OneUptime #2981).
fn the_assertion(response: &Element) -> Result<&Element, SamlError> {
    let everywhere = response.descendants();
    if everywhere
        .iter()
        .any(|e| e.is(ASSERTION, "EncryptedAssertion"))
    {
        return Err(invalid("encrypted assertions are not supported"));
    }
    let count = everywhere
        .iter()
        .filter(|e| e.is(ASSERTION, "Assertion"))
        .count();
    if count != 1 {
        return Err(invalid(format!(
            "the response must hold exactly one assertion (found {count})"
        )));
    }
    let assertion = response
        .only_child(ASSERTION, "Assertion")
        .ok_or_else(|| invalid("the assertion must be a direct child of the response"))?;
    let mut ids: Vec<&str> = everywhere.iter().filter_map(|e| e.attr("ID")).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("two elements share one ID"));
    }
    Ok(assertion)
}

/// Every signature must sit on the response or on the assertion and verify;
/// at least one must (the response's covers the assertion inside it).
fn check_signatures(
    response: &Element,
    assertion: &Element,
    keys: &TrustedKeys,
) -> Result<(), SamlError> {
    let total = response
        .descendants()
        .iter()
        .filter(|e| e.is(DS, "Signature"))
        .count();
    let on_response: Vec<&Element> = response.children_named(DS, "Signature").collect();
    let on_assertion: Vec<&Element> = assertion.children_named(DS, "Signature").collect();
    if on_response.len() > 1 || on_assertion.len() > 1 {
        return Err(invalid("an element carries more than one signature"));
    }
    if total != on_response.len() + on_assertion.len() {
        return Err(invalid("a signature sits where none is expected"));
    }
    if total == 0 {
        return Err(invalid("the response is not signed"));
    }
    if let Some(signature) = on_response.first() {
        verify_enveloped(response, signature, keys)?;
    }
    if let Some(signature) = on_assertion.first() {
        verify_enveloped(assertion, signature, keys)?;
    }
    Ok(())
}

fn check_status(response: &Element) -> Result<(), SamlError> {
    let code = response
        .only_child(PROTOCOL, "Status")
        .and_then(|s| s.only_child(PROTOCOL, "StatusCode"))
        .and_then(|c| c.attr("Value"))
        .ok_or_else(|| invalid("the response has no status"))?;
    if code != SUCCESS {
        let short = code.rsplit(':').next().unwrap_or(code);
        return Err(invalid(format!(
            "the identity provider did not authenticate the user ({})",
            short.chars().take(64).collect::<String>()
        )));
    }
    Ok(())
}

fn read_assertion(
    assertion: &Element,
    expected: &Expected<'_>,
) -> Result<SamlAssertion, SamlError> {
    let now = expected.now.0;
    if assertion.attr("Version") != Some("2.0") {
        return Err(invalid("the assertion is not SAML 2.0"));
    }
    let id = assertion
        .attr("ID")
        .ok_or_else(|| invalid("the assertion has no ID"))?
        .to_owned();
    let issuer = assertion
        .only_child(ASSERTION, "Issuer")
        .ok_or_else(|| invalid("the assertion has no Issuer"))?;
    if issuer.text().trim() != expected.idp_entity_id {
        return Err(invalid("the assertion's Issuer is not the provider"));
    }
    let subject = assertion
        .only_child(ASSERTION, "Subject")
        .ok_or_else(|| invalid("the assertion has no Subject"))?;
    let name_id = subject
        .only_child(ASSERTION, "NameID")
        .ok_or_else(|| invalid("the subject has no NameID"))?
        .text()
        .trim()
        .to_owned();
    if name_id.is_empty() || name_id.chars().count() > NAME_ID_MAX_CHARS {
        return Err(invalid("the subject's NameID is empty or too long"));
    }
    let confirmed_until = bearer_confirmation(subject, expected)?;
    let conditions_until = check_conditions(assertion, expected)?;
    let authn = assertion
        .children_named(ASSERTION, "AuthnStatement")
        .next()
        .ok_or_else(|| invalid("the assertion has no AuthnStatement"))?;
    if let Some(until) = optional_instant(authn, "SessionNotOnOrAfter", "SessionNotOnOrAfter")? {
        if until.0 + CLOCK_SKEW_MS <= now {
            return Err(invalid("the identity provider's session has ended"));
        }
    }
    let expires_at = match conditions_until {
        Some(c) if c.0 < confirmed_until.0 => c,
        _ => confirmed_until,
    };
    Ok(SamlAssertion {
        id,
        name_id,
        session_index: authn.attr("SessionIndex").map(str::to_owned),
        expires_at,
        attributes: attributes(assertion),
    })
}

/// A bearer `SubjectConfirmation` whose data names this endpoint, is still
/// valid, and answers the expected request; returns its `NotOnOrAfter`.
fn bearer_confirmation(subject: &Element, expected: &Expected<'_>) -> Result<Timestamp, SamlError> {
    let now = expected.now.0;
    let mut reason = "the subject has no bearer confirmation";
    for confirmation in subject.children_named(ASSERTION, "SubjectConfirmation") {
        if confirmation.attr("Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = confirmation.only_child(ASSERTION, "SubjectConfirmationData") else {
            reason = "the bearer confirmation has no data";
            continue;
        };
        if !data
            .attr("Recipient")
            .is_some_and(|r| expected.acs_urls.iter().any(|u| u == r))
        {
            reason = "the confirmation's Recipient is not this endpoint";
            continue;
        }
        let Some(until) = optional_instant(data, "NotOnOrAfter", "NotOnOrAfter")? else {
            reason = "the confirmation has no NotOnOrAfter";
            continue;
        };
        if until.0 + CLOCK_SKEW_MS <= now {
            reason = "the assertion has expired";
            continue;
        }
        if optional_instant(data, "NotBefore", "NotBefore")?
            .is_some_and(|t| t.0 > now + CLOCK_SKEW_MS)
        {
            reason = "the assertion is not valid yet";
            continue;
        }
        if data.attr("InResponseTo") != expected.in_response_to {
            reason = match expected.in_response_to {
                None => "the assertion answers a request Keyhouse did not send",
                Some(_) => "the assertion does not answer Keyhouse's request",
            };
            continue;
        }
        return Ok(until);
    }
    Err(invalid(reason))
}

/// `Conditions`: time window and an audience restriction naming Keyhouse
/// (every restriction must, SAML Core §2.5.1.4); returns `NotOnOrAfter`.
fn check_conditions(
    assertion: &Element,
    expected: &Expected<'_>,
) -> Result<Option<Timestamp>, SamlError> {
    let now = expected.now.0;
    let conditions = assertion
        .only_child(ASSERTION, "Conditions")
        .ok_or_else(|| invalid("the assertion has no Conditions"))?;
    if optional_instant(conditions, "NotBefore", "NotBefore")?
        .is_some_and(|t| t.0 > now + CLOCK_SKEW_MS)
    {
        return Err(invalid("the assertion is not valid yet"));
    }
    let until = optional_instant(conditions, "NotOnOrAfter", "NotOnOrAfter")?;
    if until.is_some_and(|t| t.0 + CLOCK_SKEW_MS <= now) {
        return Err(invalid("the assertion has expired"));
    }
    let restrictions: Vec<&Element> = conditions
        .children_named(ASSERTION, "AudienceRestriction")
        .collect();
    if restrictions.is_empty() {
        return Err(invalid("the assertion has no audience restriction"));
    }
    for restriction in restrictions {
        let ours = restriction
            .children_named(ASSERTION, "Audience")
            .any(|a| a.text().trim() == expected.sp_entity_id);
        if !ours {
            return Err(invalid(
                "the assertion is meant for another service provider",
            ));
        }
    }
    Ok(until)
}

/// Every `Attribute` of every `AttributeStatement`, by `Name`.
fn attributes(assertion: &Element) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for statement in assertion.children_named(ASSERTION, "AttributeStatement") {
        for attribute in statement.children_named(ASSERTION, "Attribute") {
            let Some(name) = attribute.attr("Name") else {
                continue;
            };
            let values: Vec<String> = attribute
                .children_named(ASSERTION, "AttributeValue")
                .map(|v| v.text().trim().to_owned())
                .collect();
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, existing)) => existing.extend(values),
                None => out.push((name.to_owned(), values)),
            }
        }
    }
    out
}
