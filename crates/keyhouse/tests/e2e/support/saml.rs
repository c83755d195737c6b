//! A SAML identity provider for the tests: responses are written from a
//! template and signed by `xmlsec1` (the XML-Security reference
//! implementation, installed by the test command), so Keyhouse's verifier is
//! checked against an independent signer. The key pair under `testdata/` is
//! test material only.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::http::Client;

/// The test IdP's entity id.
pub const IDP_ENTITY_ID: &str = "https://idp.test.example/saml";
const ASSERTION_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
const RESPONSE_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/support/testdata")
        .join(name)
}

/// The IdP's certificate (PEM), to configure at Keyhouse.
pub fn idp_certificate() -> String {
    std::fs::read_to_string(testdata("saml-idp-cert.pem")).expect("read IdP certificate")
}

/// Which element the IdP signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed {
    Assertion,
    Response,
    Nothing,
}

/// One response to write.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// Where it is posted (`Destination`, `Recipient`).
    pub acs: String,
    /// Keyhouse's entity id (`Audience`).
    pub audience: String,
    pub name_id: String,
    pub in_response_to: Option<String>,
    /// Seconds from now until the assertion expires (negative: expired).
    pub valid_for_secs: i64,
    pub attributes: Vec<(String, String)>,
    pub signed: Signed,
    /// Sign with the other (untrusted) key instead of the IdP's.
    pub wrong_key: bool,
    pub issuer: String,
}

impl ResponseSpec {
    /// A response for `name_id` posted to `acs` with audience `audience`,
    /// valid five minutes, assertion signed.
    pub fn new(acs: &str, audience: &str, name_id: &str) -> Self {
        Self {
            acs: acs.to_owned(),
            audience: audience.to_owned(),
            name_id: name_id.to_owned(),
            in_response_to: None,
            valid_for_secs: 300,
            attributes: vec![
                ("email".into(), format!("{name_id}@idp.test.example")),
                ("firstname".into(), "Grace".into()),
                ("lastname".into(), "Hopper".into()),
            ],
            signed: Signed::Assertion,
            wrong_key: false,
            issuer: IDP_ENTITY_ID.to_owned(),
        }
    }
}

fn iso(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    time::OffsetDateTime::from_unix_timestamp(secs)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

fn random_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

fn signature_template(reference: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{reference}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue></ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>"
    )
}

/// The response XML, signed as `spec.signed` says.
pub fn signed_response(spec: &ResponseSpec) -> String {
    let now = SystemTime::now();
    let issued = iso(now);
    let until = if spec.valid_for_secs >= 0 {
        iso(now + Duration::from_secs(spec.valid_for_secs as u64))
    } else {
        iso(now - Duration::from_secs(spec.valid_for_secs.unsigned_abs()))
    };
    let not_before = iso(now - Duration::from_secs(60));
    let (response_id, assertion_id) = (random_id(), random_id());
    let in_response_to = spec
        .in_response_to
        .as_ref()
        .map(|id| format!(" InResponseTo=\"{}\"", escape(id)))
        .unwrap_or_default();
    let attributes: String = spec
        .attributes
        .iter()
        .map(|(name, value)| {
            format!(
                "<saml:Attribute Name=\"{}\"><saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue></saml:Attribute>",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let assertion_signature = if spec.signed == Signed::Assertion {
        signature_template(&assertion_id)
    } else {
        String::new()
    };
    let response_signature = if spec.signed == Signed::Response {
        signature_template(&response_id)
    } else {
        String::new()
    };
    let issuer = escape(&spec.issuer);
    let acs = escape(&spec.acs);
    let template = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{response_id}\" Version=\"2.0\" IssueInstant=\"{issued}\" Destination=\"{acs}\"{in_response_to}>\
<saml:Issuer>{issuer}</saml:Issuer>{response_signature}\
<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
<saml:Assertion xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{assertion_id}\" Version=\"2.0\" IssueInstant=\"{issued}\">\
<saml:Issuer>{issuer}</saml:Issuer>{assertion_signature}\
<saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{name_id}</saml:NameID>\
<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
<saml:SubjectConfirmationData NotOnOrAfter=\"{until}\" Recipient=\"{acs}\"{in_response_to}/></saml:SubjectConfirmation></saml:Subject>\
<saml:Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{until}\"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
<saml:AuthnStatement AuthnInstant=\"{issued}\" SessionIndex=\"{assertion_id}-session\"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
<saml:AttributeStatement>{attributes}</saml:AttributeStatement>\
</saml:Assertion></samlp:Response>",
        name_id = escape(&spec.name_id),
        audience = escape(&spec.audience),
    );
    match spec.signed {
        Signed::Nothing => template,
        Signed::Assertion => xmlsec1_sign(&template, ASSERTION_ID_ATTR, spec.wrong_key),
        Signed::Response => xmlsec1_sign(&template, RESPONSE_ID_ATTR, spec.wrong_key),
    }
}

/// Signs `template` (its empty `ds:Signature`) with `xmlsec1`.
fn xmlsec1_sign(template: &str, id_attr: &str, wrong_key: bool) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("template.xml");
    let output = dir.path().join("signed.xml");
    std::fs::write(&input, template).expect("write template");
    let (key, cert) = if wrong_key {
        ("saml-other-key.pem", "saml-other-cert.pem")
    } else {
        ("saml-idp-key.pem", "saml-idp-cert.pem")
    };
    let keys = format!("{},{}", testdata(key).display(), testdata(cert).display());
    let program = std::env::var("KEYHOUSE_XMLSEC1").unwrap_or_else(|_| "xmlsec1".to_owned());
    let out = Command::new(&program)
        .args([
            "--sign",
            "--privkey-pem",
            &keys,
            "--id-attr:ID",
            id_attr,
            "--output",
        ])
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{program} (install xmlsec1; scripts/test.sh does): {e}"));
    assert!(out.status.success(), "xmlsec1 --sign failed: {out:?}");
    std::fs::read_to_string(&output).expect("read signed response")
}

/// How many users the server's database holds (SQLite file or PostgreSQL):
/// a refused response must create none.
pub async fn user_count(server: &super::TestServer) -> i64 {
    use sqlx::{Connection, Row};
    const QUERY: &str = "SELECT COUNT(*) AS n FROM users";
    match server.database_url() {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            let row = sqlx::query(QUERY)
                .fetch_one(&mut conn)
                .await
                .expect("count");
            row.get::<i64, _>("n")
        }
        None => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(server.data_path().join("keyhouse.db"))
                .read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("open the SQLite file");
            let row = sqlx::query(QUERY)
                .fetch_one(&mut conn)
                .await
                .expect("count");
            row.get::<i64, _>("n")
        }
    }
}

/// Base64 of a response, as `SAMLResponse` carries it.
pub fn encode(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// Creates a SAML provider trusting the test IdP: (status, body).
pub async fn create_saml_provider(admin: &Client, org: &str, extra: Value) -> (u16, Value) {
    let mut saml = json!({
        "issuer": IDP_ENTITY_ID,
        "public_key": [idp_certificate()],
        "claims_mapping": {"group_attribute": "groups"},
    });
    if let (Value::Object(map), Value::Object(more)) = (&mut saml, extra) {
        map.extend(more);
    }
    let resp = admin
        .post(
            &format!("/accounts/api/organizations/{org}/identityProviders"),
            json!({"name": "Corporate SAML", "type": {"name": "saml"}, "saml": saml}),
        )
        .await;
    let body = serde_json::from_str(&resp.body).unwrap_or(Value::String(resp.body.clone()));
    (resp.status, body)
}
