//! SAML 2.0 federation (docs/federation.md): a test identity provider whose
//! responses are signed by `xmlsec1` signs people in to Keyhouse through
//! `receive-id` (API tokens, Anypoint's shape), the HTTP-POST binding
//! (browser sessions, IdP- and SP-initiated) and, in Chromium, all the way
//! to an app's authorization code. Every refusal is checked too.

use std::io::Read;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::callback::{param, Callback};
use crate::support::federation::{idp_link, query_param};
use crate::support::pages::{Agent, Decision};
use crate::support::saml::{create_saml_provider, encode, signed_response, ResponseSpec, Signed};
use crate::support::user_apps::{authorize_url_pkce, create_user_app, exchange_code, Pkce};
use crate::support::{Client, TestServer};

const ACS_PATH: &str = "/accounts/login/receive-id";

struct Saml {
    server: TestServer,
    admin: Client,
    org: String,
    provider_id: String,
}

impl Saml {
    async fn start(extra: Value) -> Self {
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

    fn acs(&self) -> String {
        format!("{}{ACS_PATH}", self.server.base)
    }

    /// A response for `name_id` to the shared ACS, audience = Keyhouse.
    fn spec(&self, name_id: &str) -> ResponseSpec {
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
async fn a_browser_post_opens_a_session_and_relay_state_stays_local() {
    let saml = Saml::start(json!({})).await;
    let agent = Agent::new(&saml.server);
    let response = encode(&signed_response(&saml.spec("lin.saml")));
    let page = agent
        .post_form(
            ACS_PATH,
            &[
                ("SAMLResponse", &response),
                ("RelayState", "/accounts/authorizations"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/accounts/authorizations")
    );
    let apps = agent.get("/accounts/authorizations").await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    assert!(!apps.has_id("sign-in-form"), "signed in: {}", apps.body);

    let hostile = encode(&signed_response(&saml.spec("lin.saml")));
    let page = Agent::new(&saml.server)
        .post_form(
            ACS_PATH,
            &[
                ("SAMLResponse", &hostile),
                ("RelayState", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.header("location").unwrap_or_default();
    assert!(
        location.starts_with('/') && !location.contains("evil"),
        "{location}"
    );

    let unsigned = {
        let mut s = saml.spec("lin.saml");
        s.signed = Signed::Nothing;
        encode(&signed_response(&s))
    };
    let refused = Agent::new(&saml.server)
        .post_form(
            ACS_PATH,
            &[("SAMLResponse", &unsigned), ("RelayState", "/x")],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused
        .header("set-cookie")
        .is_none_or(|c| !c.contains("keyhouse_session=") || c.contains("Max-Age=0")));

    // Single logout ends the session and goes back to a local path only.
    let out = agent
        .get("/accounts/logout/receive-id?redirect_uri=/accounts/authorizations")
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let after = agent.get("/accounts/authorizations").await;
    assert!(
        after.status == 303 || after.has_id("sign-in-form"),
        "still signed in after logout: {} {}",
        after.status,
        after.body
    );
}

#[tokio::test]
async fn metadata_describes_the_service_provider() {
    let saml = Saml::start(json!({})).await;
    let page = Agent::new(&saml.server)
        .get("/accounts/saml/metadata")
        .await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap_or_default()
        .contains("samlmetadata+xml"));
    assert!(
        page.body
            .contains(&format!("entityID=\"{}\"", saml.server.base)),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("Location=\"{}\"", saml.acs())),
        "{}",
        page.body
    );
    assert!(page.body.contains("WantAssertionsSigned=\"true\""));
}

/// The `ID` of the `AuthnRequest` in an HTTP-Redirect binding URL.
fn authn_request_id(url: &reqwest::Url) -> String {
    let encoded = query_param(url, "SAMLRequest").expect("SAMLRequest");
    let deflated = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
        .expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .expect("inflate");
    assert!(xml.contains("<samlp:AuthnRequest"), "{xml}");
    let start = xml.find(" ID=\"").expect("ID") + 5;
    let end = start + xml[start..].find('"').expect("end of ID");
    xml[start..end].to_owned()
}

#[tokio::test]
async fn sp_initiated_sign_in_resumes_the_authorization() {
    let saml = Saml::start(json!({"sign_on_url": "http://127.0.0.1:9/sso"})).await;
    let app = create_user_app(&saml.admin, "SAML App", "http://127.0.0.1:9/callback").await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&saml.server.base, &app, "openid profile", "st", "n", &pkce);
    let agent = Agent::new(&saml.server);
    let sign_in = agent.get(&url).await;
    assert!(sign_in.has_id("sign-in-form"), "{}", sign_in.body);
    let link = idp_link(&sign_in, &saml.provider_id).expect("SAML button on the sign-in page");
    let to_idp = agent.get(&link).await;
    assert_eq!(to_idp.status, 303, "{}", to_idp.body);
    let idp_url = to_idp.location().expect("Location");
    assert!(
        idp_url.as_str().starts_with("http://127.0.0.1:9/sso?"),
        "{idp_url}"
    );
    let request_id = authn_request_id(&idp_url);

    let mut spec = saml.spec("kat.saml");
    spec.in_response_to = Some(request_id.clone());
    let back = agent
        .post_form(
            ACS_PATH,
            &[("SAMLResponse", &encode(&signed_response(&spec)))],
        )
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    let resume = back.location().expect("Location");
    assert!(resume.path().ends_with("/oauth2/authorize"), "{resume}");
    let to_app = agent
        .authorize_with(resume.as_str(), "unused", "unused", Decision::Allow)
        .await;
    let code = query_param(&to_app, "code").expect("code");
    let tokens = exchange_code(&saml.server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let token = tokens.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = saml
        .server
        .client()
        .with_token(&token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.json()["user"]["username"], "kat.saml", "{}", me.body);

    // The pending request was spent: the same answer again is refused.
    let mut again = saml.spec("kat.saml");
    again.in_response_to = Some(request_id);
    let replay = agent
        .post_form(
            ACS_PATH,
            &[("SAMLResponse", &encode(&signed_response(&again)))],
        )
        .await;
    assert_eq!(replay.status, 400, "{}", replay.body);

    // A response answering a request Keyhouse never sent is refused, even
    // from a browser that started another sign-in.
    let started = Agent::new(&saml.server);
    assert_eq!(started.get(&link).await.status, 303);
    let mut other = saml.spec("kat.saml");
    other.in_response_to = Some("_another".into());
    let refused = started
        .post_form(
            ACS_PATH,
            &[("SAMLResponse", &encode(&signed_response(&other)))],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}

/// A loopback SAML identity provider for Chromium: `/sso` answers an
/// `AuthnRequest` with an auto-submitting form that posts a signed response.
mod browser_idp {
    use axum::extract::{RawQuery, State};
    use axum::response::Html;
    use axum::routing::get;
    use axum::Router;

    use crate::support::saml::{encode, signed_response, ResponseSpec};

    #[derive(Clone)]
    struct Idp {
        keyhouse: String,
        name_id: String,
    }

    pub async fn start(keyhouse: &str, name_id: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind IdP");
        let port = listener.local_addr().expect("addr").port();
        let app = Router::new().route("/sso", get(sso)).with_state(Idp {
            keyhouse: keyhouse.to_owned(),
            name_id: name_id.to_owned(),
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://127.0.0.1:{port}/sso")
    }

    async fn sso(State(idp): State<Idp>, RawQuery(query): RawQuery) -> Html<String> {
        let url = reqwest::Url::parse(&format!("http://idp/sso?{}", query.unwrap_or_default()))
            .expect("url");
        let request_id = super::authn_request_id(&url);
        let acs = format!("{}{}", idp.keyhouse, super::ACS_PATH);
        let mut spec = ResponseSpec::new(&acs, &idp.keyhouse, &idp.name_id);
        spec.in_response_to = Some(request_id);
        let response = tokio::task::spawn_blocking(move || encode(&signed_response(&spec)))
            .await
            .expect("sign");
        Html(format!(
            "<!doctype html><html><body onload=\"document.forms[0].submit()\">\
             <form method=\"post\" action=\"{acs}\">\
             <input type=\"hidden\" name=\"SAMLResponse\" value=\"{response}\">\
             <noscript><button>Continue</button></noscript></form></body></html>"
        ))
    }
}

#[tokio::test]
async fn a_person_signs_in_through_saml_in_chromium_and_the_app_gets_a_token() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let sso = browser_idp::start(&server.base, "rosa.saml").await;
    let (status, body) = create_saml_provider(&admin, &org, json!({"sign_on_url": sso})).await;
    assert_eq!(status, 201, "{body}");
    let provider_id = body["provider_id"].as_str().expect("id").to_owned();
    let callback = Callback::start().await;
    let app = create_user_app(&admin, "Chromium SAML App", &callback.url).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&server.base, &app, "openid profile", "xyz", "n1", &pkce);

    browser.goto(&url).await.expect("authorize");
    browser.wait_for_id("sign-in-form").await;
    let link = browser
        .wait_for(Locator::Css(&format!(
            "a.idp-login[data-provider-id='{provider_id}']"
        )))
        .await;
    link.click().await.expect("click SAML button");
    // IdP → auto-posted response → Keyhouse → consent page.
    browser.wait_for_id("consent-form").await;
    browser.click_id("allow").await;
    let query = tokio::time::timeout(PAGE_TIMEOUT, callback.wait_for(1))
        .await
        .expect("callback in time");
    assert_eq!(param(&query, "state").as_deref(), Some("xyz"));
    let code = param(&query, "code").expect("code");
    let tokens = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let token = tokens.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = server
        .client()
        .with_token(&token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.json()["user"]["username"], "rosa.saml", "{}", me.body);
    browser.close().await;
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
