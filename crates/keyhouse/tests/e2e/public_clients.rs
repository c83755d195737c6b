//! Public clients (RFC 7591 `token_endpoint_auth_method: "none"`): browser and
//! native apps without a secret use the code flow with PKCE, identified by
//! their client id alone; nothing else is open to them.

use reqwest::Method;
use serde_json::json;

use crate::support::pages::Agent;
use crate::support::user_apps::{
    authorize_url, authorize_url_pkce, Pkce, UserApp, ADMIN_USERNAME, TOKEN_PATH,
};
use crate::support::{TestServer, ADMIN_PASSWORD};

const REDIRECT: &str = "http://127.0.0.1:9/public/callback";

async fn public_app(server: &TestServer) -> (crate::support::Client, UserApp, serde_json::Value) {
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let resp = admin
        .post(
            &format!("/accounts/api/organizations/{org}/connectedApplications"),
            json!({
                "client_name": "spa",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT],
                "public_keys": [],
                "scopes": ["openid", "profile", "offline_access"],
                "audience": "internal",
                "client_uri": "https://spa.example.com",
                "token_endpoint_auth_method": "none",
            }),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let body = resp.json();
    let app = UserApp {
        client_id: body["client_id"].as_str().unwrap().to_owned(),
        secret: String::new(),
        name: "spa".into(),
        redirect_uri: REDIRECT.into(),
    };
    (admin, app, body)
}

fn query(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_public_client_uses_pkce_and_its_client_id_alone() {
    let server = TestServer::start().await;
    let (admin, app, created) = public_app(&server).await;
    assert_eq!(created["token_endpoint_auth_method"], "none");
    assert!(
        created.get("client_secret").is_none(),
        "no secret is shown: {created}"
    );

    // Without PKCE the request goes back to the app refused.
    let agent = Agent::new(&server);
    let url = authorize_url(&server.base, &app, &[("scope", "openid"), ("state", "s1")]);
    let back = agent.authorize(&url, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query(&back, "state").as_deref(), Some("s1"));

    let pkce = Pkce::random();
    let url = authorize_url_pkce(
        &server.base,
        &app,
        "openid offline_access",
        "s2",
        "n",
        &pkce,
    );
    let back = agent.authorize(&url, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let code = query(&back, "code").expect("code");
    let form = |extra: &[(&str, &str)]| {
        let mut f: Vec<(String, String)> = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("client_id".into(), app.client_id.clone()),
            ("redirect_uri".into(), REDIRECT.into()),
            ("code".into(), code.clone()),
        ];
        f.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        f
    };
    let client = server.client();
    // A made-up secret does not authenticate a public client.
    let wrong = client
        .run(
            client
                .raw(Method::POST, TOKEN_PATH)
                .basic_auth(&app.client_id, Some("not-a-secret-of-this-app"))
                .form(&form(&[("code_verifier", &pkce.verifier)])),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.json()["error"], "invalid_client");
    let ok = client
        .run(
            client
                .raw(Method::POST, TOKEN_PATH)
                .form(&form(&[("code_verifier", &pkce.verifier)])),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let tokens = ok.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    // The refresh token rotates for the public client too.
    let refreshed = client
        .run(client.raw(Method::POST, TOKEN_PATH).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", app.client_id.as_str()),
            ("refresh_token", refresh.as_str()),
        ]))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_ne!(refreshed.json()["refresh_token"], tokens["refresh_token"]);
    // Introspection needs a confidential client.
    let introspect = client
        .run(
            client
                .raw(Method::POST, "/accounts/api/v2/oauth2/introspect")
                .form(&[
                    ("client_id", app.client_id.as_str()),
                    ("token", tokens["access_token"].as_str().unwrap()),
                ]),
        )
        .await;
    assert_eq!(introspect.status, 401, "{}", introspect.body);
    drop(admin);
}

#[tokio::test]
async fn public_clients_are_limited_to_the_code_flow() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    for grants in [
        json!(["client_credentials"]),
        json!(["authorization_code", "password"]),
    ] {
        let resp = admin
            .post(
                &format!("/accounts/api/organizations/{org}/connectedApplications"),
                json!({
                    "client_name": "bad",
                    "grant_types": grants,
                    "redirect_uris": [REDIRECT],
                    "public_keys": [],
                    "scopes": [],
                    "client_uri": "https://spa.example.com",
                    "token_endpoint_auth_method": "none",
                }),
            )
            .await;
        assert_eq!(resp.status, 400, "{}", resp.body);
    }
    let resp = admin
        .post(
            &format!("/accounts/api/organizations/{org}/connectedApplications"),
            json!({
                "client_name": "bad-method",
                "grant_types": ["authorization_code"],
                "redirect_uris": [REDIRECT],
                "public_keys": [],
                "scopes": ["openid"],
                "client_uri": "https://spa.example.com",
                "token_endpoint_auth_method": "private_key_jwt",
            }),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    // A confidential app cannot authenticate with its id alone.
    let (_, public, _) = public_app(&server).await;
    drop(public);
    let confidential = crate::support::user_apps::create_user_app(&admin, "web", REDIRECT).await;
    let client = server.client();
    let resp = client
        .run(client.raw(Method::POST, TOKEN_PATH).form(&[
            ("grant_type", "authorization_code"),
            ("client_id", confidential.client_id.as_str()),
            ("code", "whatever"),
        ]))
        .await;
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert_eq!(resp.json()["error"], "invalid_client");
}
