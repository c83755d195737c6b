//! Apps that act on behalf of users (docs/user-grants.md): create them through
//! the admin API, build authorization URLs, exchange codes.

use reqwest::Method;
use serde_json::json;

use super::http::{Client, Resp};

/// The first administrator's username (`KEYHOUSE_ADMIN_USERNAME` is unset in
/// the test kit, so the server uses its default).
pub const ADMIN_USERNAME: &str = "admin";

/// The scopes every user app made here registers.
pub const USER_APP_SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "full"];

/// The token endpoint.
pub const TOKEN_PATH: &str = "/accounts/api/v2/oauth2/token";

/// The authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/accounts/api/v2/oauth2/authorize";

/// A created user-behalf app.
#[derive(Debug, Clone)]
pub struct UserApp {
    pub client_id: String,
    pub secret: String,
    pub name: String,
    pub redirect_uri: String,
}

/// Creates an `authorization_code` + `refresh_token` app in the admin's root
/// organization, with the one redirect URI and [`USER_APP_SCOPES`] (201 expected).
pub async fn create_user_app(admin: &Client, name: &str, redirect_uri: &str) -> UserApp {
    let org = admin.root_org_id().await;
    create_user_app_in(admin, &org, name, redirect_uri).await
}

/// Same, in organization `org`.
pub async fn create_user_app_in(
    admin: &Client,
    org: &str,
    name: &str,
    redirect_uri: &str,
) -> UserApp {
    let resp = admin
        .post(
            &format!("/accounts/api/organizations/{org}/connectedApplications"),
            json!({
                "client_name": name,
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [redirect_uri],
                "public_keys": [],
                "scopes": USER_APP_SCOPES,
                "audience": "internal",
                "client_uri": "https://app.example.com",
            }),
        )
        .await;
    assert_eq!(resp.status, 201, "create user app: {}", resp.body);
    let json = resp.json();
    UserApp {
        client_id: json["client_id"].as_str().expect("client_id").to_owned(),
        secret: json["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
        name: name.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
    }
}

/// A PKCE pair (S256).
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier and its S256 challenge.
    pub fn random() -> Self {
        let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
        Self {
            verifier: verifier.secret().clone(),
            challenge: challenge.as_str().to_owned(),
        }
    }
}

/// `<base>/accounts/api/v2/oauth2/authorize?response_type=code&client_id=…&redirect_uri=…`
/// followed by `extra` (form-urlencoded).
pub fn authorize_url(base: &str, app: &UserApp, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
    ];
    params.extend_from_slice(extra);
    reqwest::Url::parse_with_params(&format!("{base}{AUTHORIZE_PATH}"), &params)
        .expect("authorize url")
        .to_string()
}

/// The usual authorization URL: `scope`, `state`, `nonce` and an S256 PKCE challenge.
pub fn authorize_url_pkce(
    base: &str,
    app: &UserApp,
    scope: &str,
    state: &str,
    nonce: &str,
    pkce: &Pkce,
) -> String {
    authorize_url(
        base,
        app,
        &[
            ("scope", scope),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// `POST` to the token endpoint with `client_secret_basic` and a form body.
pub async fn token_request(client: &Client, app: &UserApp, form: &[(&str, &str)]) -> Resp {
    let req = client
        .raw(Method::POST, TOKEN_PATH)
        .basic_auth(&app.client_id, Some(&app.secret))
        .form(form);
    client.run(req).await
}

/// Exchanges an authorization code (with the app's redirect URI and the PKCE verifier).
pub async fn exchange_code(client: &Client, app: &UserApp, code: &str, verifier: &str) -> Resp {
    token_request(
        client,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &app.redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// The signed-in user's id, from `/accounts/api/users/me`.
pub async fn user_id(client: &Client) -> String {
    let me = client.get("/accounts/api/users/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    me.json()["id"].as_str().expect("user id").to_owned()
}
