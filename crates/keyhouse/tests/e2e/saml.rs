//! SAML 2.0 federation (docs/federation.md), API side: a test identity
//! provider whose responses are signed by `xmlsec1` configures Keyhouse and
//! signs people in through `receive-id` (API tokens, Anypoint's shape); every
//! refusal is checked. The browser flows are in `saml_browser.rs`.

use serde_json::{json, Value};

use crate::support::saml::{create_saml_provider, encode, signed_response, ResponseSpec, Signed};
use crate::support::{Client, TestServer};

pub(crate) const ACS_PATH: &str = "/accounts/login/receive-id";

pub(crate) struct Saml {
    pub(crate) server: TestServer,
    pub(crate) admin: Client,
    pub(crate) org: String,
    pub(crate) provider_id: String,
}

impl Saml {
    pub(crate) async fn start(extra: Value) -> Self {
        let server = TestServer::start().await;
        let admin = server.admin().await;
        let org = admin.root_org_id().await;
        let (status, body) = create_saml_provider(&admin, &org, extra).await;
        assert_eq!(status, 201, "create SAML provider: {body}");
        let provider_id = body["provider_id"]
            .as_str()
            .expect("provider_id")
            .to_owned();
        Self {
            server,
            admin,
            org,
            provider_id,
        }
    }

    pub(crate) fn acs(&self) -> String {
        format!("{}{ACS_PATH}", self.server.base)
    }

    /// A response for `name_id` to the shared ACS, audience = Keyhouse.
    pub(crate) fn spec(&self, name_id: &str) -> ResponseSpec {
        ResponseSpec::new(&self.acs(), &self.server.base, name_id)
    }

    async fn receive_id(&self, path: &str, saml_response: &str) -> crate::support::http::Resp {
        let client = self.server.client();
        let req = client
            .raw(reqwest::Method::POST, path)
            .header("x-requested-with", "XMLHttpRequest")
            .json(&json!({"SAMLResponse": saml_response}));
        client.run(req).await
    }

    async fn user_count(&self) -> i64 {
        crate::support::saml::user_count(&self.server).await
    }
}

#[tokio::test]
async fn saml_providers_are_managed_through_the_api() {
    let saml = Saml::start(json!({"sign_on_url": "http://127.0.0.1:9/sso"})).await;
    let path = format!(
        "/accounts/api/organizations/{}/identityProviders/{}",
        saml.org, saml.provider_id
    );
    let got = saml.admin.get(&path).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let body = got.json();
    assert_eq!(body["type"]["name"], "saml");
    assert_eq!(body["saml"]["issuer"], crate::support::saml::IDP_ENTITY_ID);
    assert_eq!(body["saml"]["audience"], saml.server.base);
    assert_eq!(body["saml"]["sign_on_url"], "http://127.0.0.1:9/sso");
    assert_eq!(body["saml"]["claims_mapping"]["group_attribute"], "groups");
    assert_eq!(body["service_provider"]["urls"]["acs"], saml.acs());
    assert!(body.get("oidc_provider").is_none(), "{body}");

    let list = saml
        .admin
        .get(&format!(
            "/accounts/api/organizations/{}/identityProviders",
            saml.org
        ))
        .await;
    assert_eq!(list.json()["data"][0]["type"]["name"], "saml");

    // Bad configurations are refused and change nothing.
    let bad = [
        json!({"public_key": ["not a certificate"]}),
        json!({"public_key": []}),
        json!({"legacy_sha1_mode": true}),
        json!({"require_encrypted_saml_assertions": true}),
        json!({"sign_on_url": "http://idp.example.com/sso"}),
        json!({"issuer": ""}),
    ];
    for saml_body in bad {
        let refused = saml
            .admin
            .patch(&path, json!({"saml": saml_body.clone()}))
            .await;
        assert_eq!(refused.status, 400, "{saml_body}: {}", refused.body);
        assert!(refused.json()["message"].is_string(), "{}", refused.body);
    }
    let retype = saml
        .admin
        .patch(&path, json!({"type": {"name": "openid"}}))
        .await;
    assert_eq!(retype.status, 400, "{}", retype.body);
    let missing = saml
        .admin
        .post(
            &format!("/accounts/api/organizations/{}/identityProviders", saml.org),
            json!({"name": "No cert", "type": {"name": "saml"}, "saml": {"issuer": "x"}}),
        )
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(saml.admin.get(&path).await.json()["saml"], body["saml"]);

    let changed = saml
        .admin
        .patch(
            &path,
            json!({"saml": {"sign_on_url": ""}, "name": "Renamed"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["name"], "Renamed");
    assert!(changed.json()["saml"]["sign_on_url"].is_null());
}

#[tokio::test]
async fn receive_id_gives_an_api_token_to_a_provisioned_user() {
    let saml = Saml::start(json!({})).await;
    let before = saml.user_count().await;
    let response = encode(&signed_response(&saml.spec("grace.saml")));
    let resp = saml.receive_id(ACS_PATH, &response).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["redirectUrl"], "/home/");
    let token = body["access_token"].as_str().expect("access_token");
    let me = saml
        .server
        .client()
        .with_token(token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let user = &me.json()["user"];
    assert_eq!(user["username"], "grace.saml");
    assert_eq!(user["email"], "grace.saml@idp.test.example");
    assert_eq!(user["firstName"], "Grace");
    assert_eq!(saml.user_count().await, before + 1);

    // The same response again: assertion ids are single-use.
    let replay = saml.receive_id(ACS_PATH, &response).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(replay.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("already used"));

    // A response signed on the Response element works too, for the same user.
    let mut spec = saml.spec("grace.saml");
    spec.signed = Signed::Response;
    let again = saml
        .receive_id(ACS_PATH, &encode(&signed_response(&spec)))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(saml.user_count().await, before + 1);
}

#[tokio::test]
async fn receive_id_refuses_every_bad_response() {
    let saml = Saml::start(json!({})).await;
    let before = saml.user_count().await;
    let mut cases: Vec<(&str, String)> = Vec::new();
    let unsigned = {
        let mut s = saml.spec("mallory");
        s.signed = Signed::Nothing;
        s
    };
    cases.push(("unsigned", encode(&signed_response(&unsigned))));
    let mut wrong_key = saml.spec("mallory");
    wrong_key.wrong_key = true;
    cases.push(("wrong key", encode(&signed_response(&wrong_key))));
    let mut audience = saml.spec("mallory");
    audience.audience = "https://other-sp.example".into();
    cases.push(("audience", encode(&signed_response(&audience))));
    let mut expired = saml.spec("mallory");
    expired.valid_for_secs = -600;
    cases.push(("expired", encode(&signed_response(&expired))));
    let mut recipient = saml.spec("mallory");
    recipient.acs = "https://elsewhere.example/acs".into();
    cases.push(("recipient", encode(&signed_response(&recipient))));
    let mut issuer = saml.spec("mallory");
    issuer.issuer = "https://unknown-idp.example".into();
    cases.push(("unknown issuer", encode(&signed_response(&issuer))));
    let mut solicited = saml.spec("mallory");
    solicited.in_response_to = Some("_never_sent".into());
    cases.push(("in response to", encode(&signed_response(&solicited))));
    let tampered = signed_response(&saml.spec("grace")).replace(">grace<", ">mallory<");
    cases.push(("tampered", encode(&tampered)));
    let signed = signed_response(&saml.spec("grace"));
    let body = signed.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    cases.push((
        "xxe",
        encode(&format!(
            "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{body}"
        )),
    ));
    let start = signed.find("<saml:Assertion").expect("assertion");
    let end = signed.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    let forged = signed[start..end]
        .replace(">grace<", ">mallory<")
        .replace(" ID=\"_", " ID=\"_x");
    let wrapped = format!("{}{forged}{}", &signed[..start], &signed[start..]);
    cases.push(("wrapping", encode(&wrapped)));
    cases.push(("not base64", "%%%".into()));
    cases.push(("not xml", encode("hello")));
    cases.push(("too large", "A".repeat(600 * 1024)));
    for (what, response) in &cases {
        let resp = saml.receive_id(ACS_PATH, response).await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.body);
        let message = resp.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!message.is_empty(), "{what}: {}", resp.body);
        assert_eq!(resp.json()["status"], 401, "{what}: {}", resp.body);
    }
    assert_eq!(
        saml.user_count().await,
        before,
        "a refused response created a user"
    );

    // Malformed requests.
    let client = saml.server.client();
    let missing = client
        .run(client.raw(reqwest::Method::POST, ACS_PATH).json(&json!({})))
        .await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let text = client
        .run(
            client
                .raw(reqwest::Method::POST, ACS_PATH)
                .header("content-type", "text/plain")
                .body("SAMLResponse"),
        )
        .await;
    assert_eq!(text.status, 415, "{}", text.body);

    // Refusals count against the address like failed logins: after enough of
    // them even a valid response waits (429 with Retry-After).
    let mut throttled = None;
    for _ in 0..60 {
        let resp = saml.receive_id(ACS_PATH, "%%%").await;
        if resp.status == 429 {
            throttled = Some(resp);
            break;
        }
        assert_eq!(resp.status, 401, "{}", resp.body);
    }
    let throttled = throttled.expect("no 429 after 60 refused responses");
    assert!(
        throttled.header("retry-after").is_some(),
        "{}",
        throttled.body
    );
    let valid = encode(&signed_response(&saml.spec("grace")));
    assert_eq!(saml.receive_id(ACS_PATH, &valid).await.status, 429);
}

#[tokio::test]
async fn the_provider_endpoint_binds_the_organization() {
    let saml = Saml::start(json!({})).await;
    let set = saml
        .admin
        .put(
            &format!("/accounts/api/organizations/{}", saml.org),
            json!({"domain": "acme"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let path = format!(
        "/accounts/login/acme/providers/{}/receive-id",
        saml.provider_id
    );
    let mut spec = saml.spec("ada.saml");
    spec.acs = format!("{}{path}", saml.server.base);
    let ok = saml
        .receive_id(&path, &encode(&signed_response(&spec)))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Another tenant's domain does not reach this provider (SM-07).
    let other = saml.server.second_tenant("Other Corp", "other-admin").await;
    let other_org = other.root_org_id().await;
    let set = other
        .put(
            &format!("/accounts/api/organizations/{other_org}"),
            json!({"domain": "other"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let path = format!(
        "/accounts/login/other/providers/{}/receive-id",
        saml.provider_id
    );
    let mut spec = saml.spec("ada.saml");
    spec.acs = format!("{}{path}", saml.server.base);
    let refused = saml
        .receive_id(&path, &encode(&signed_response(&spec)))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}

#[tokio::test]
async fn the_admin_command_adds_a_saml_provider() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("idp.pem");
    std::fs::write(&cert, crate::support::saml::idp_certificate()).expect("write cert");
    let out = server.admin_command(&[
        "add-saml-provider",
        "--org",
        &org,
        "--name",
        "CLI SAML",
        "--issuer",
        crate::support::saml::IDP_ENTITY_ID,
        "--certificate-file",
        cert.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(ACS_PATH), "{stdout}");
    let response = encode(&signed_response(&ResponseSpec::new(
        &format!("{}{ACS_PATH}", server.base),
        &server.base,
        "cli.saml",
    )));
    let client = server.client();
    let resp = client
        .run(
            client
                .raw(reqwest::Method::POST, ACS_PATH)
                .json(&json!({"SAMLResponse": response})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    // A file that is not a certificate is refused.
    std::fs::write(&cert, "junk").expect("write junk");
    let out = server.admin_command(&[
        "add-saml-provider",
        "--org",
        &org,
        "--name",
        "Bad",
        "--issuer",
        "x",
        "--certificate-file",
        cert.to_str().expect("path"),
    ]);
    assert!(!out.status.success(), "{out:?}");
}

#[tokio::test]
async fn groups_decide_the_role_at_every_sign_in() {
    let saml = Saml::start(json!({
        "group_mappings": [{"external_group_name": "kh-admins", "role": "admin"}],
    }))
    .await;
    let providers = format!("/accounts/api/organizations/{}/identityProviders", saml.org);
    let sign_in = |groups: &'static [&'static str]| {
        let mut spec = saml.spec("ines.saml");
        for group in groups {
            spec.attributes.push(("groups".into(), (*group).into()));
        }
        encode(&signed_response(&spec))
    };
    let admin = saml
        .receive_id(ACS_PATH, &sign_in(&["staff", "kh-admins"]))
        .await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    let first = admin.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let as_admin = saml
        .server
        .client()
        .with_token(&first)
        .get(&providers)
        .await;
    assert_eq!(
        as_admin.status, 200,
        "an admin group makes an administrator: {}",
        as_admin.body
    );

    // Out of the group at the next sign-in: back to member, on live tokens too.
    let member = saml.receive_id(ACS_PATH, &sign_in(&["staff"])).await;
    assert_eq!(member.status, 200, "{}", member.body);
    let token = member.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let as_member = saml
        .server
        .client()
        .with_token(&token)
        .get(&providers)
        .await;
    assert_eq!(as_member.status, 403, "{}", as_member.body);
    let earlier = saml
        .server
        .client()
        .with_token(&first)
        .get(&providers)
        .await;
    assert_eq!(
        earlier.status, 403,
        "the earlier token lost the role too: {}",
        earlier.body
    );

    // Rules need a group attribute and valid roles.
    let path = format!("{providers}/{}", saml.provider_id);
    let bad = saml
        .admin
        .patch(
            &path,
            json!({"saml": {"group_mappings": [{"external_group_name": "x", "role": "owner"}]}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let shown = saml.admin.get(&path).await.json();
    assert_eq!(
        shown["saml"]["group_mappings"][0]["external_group_name"],
        "kh-admins"
    );
}
