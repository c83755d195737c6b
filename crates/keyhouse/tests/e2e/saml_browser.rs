//! SAML 2.0 federation in the browser (docs/federation.md): the HTTP-POST
//! binding (IdP-initiated, `RelayState` kept local), single logout, the SP
//! metadata, SP-initiated sign-in (an `AuthnRequest` over the HTTP-Redirect
//! binding) and, in headless Chromium, all the way to an app's token.

use std::io::Read;

use fantoccini::Locator;
use serde_json::json;

use crate::saml::{Saml, ACS_PATH};
use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::callback::{param, Callback};
use crate::support::federation::{idp_link, query_param};
use crate::support::pages::{Agent, Decision};
use crate::support::saml::{create_saml_provider, encode, signed_response, Signed};
use crate::support::user_apps::{authorize_url_pkce, create_user_app, exchange_code, Pkce};
use crate::support::TestServer;

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
