//! Connected-app fixtures: create apps, grant scopes, get tokens.

use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Client, Resp};

/// A created app: its ids and the secret shown once.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub secret: String,
    pub json: Value,
}

/// Creates a client_credentials app as `admin` (201 expected).
pub async fn create_app(admin: &Client, name: &str) -> App {
    let resp = admin
        .post(
            "/accounts/api/connectedApplications",
            json!({
                "client_name": name,
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "public_keys": [],
                "scopes": [],
                "audience": "internal",
            }),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let json = resp.json();
    App {
        client_id: json["client_id"].as_str().unwrap().to_owned(),
        secret: json["client_secret"].as_str().unwrap().to_owned(),
        json,
    }
}

/// Replaces the app's scopes (204 expected).
pub async fn set_scopes(admin: &Client, client_id: &str, scopes: Value) {
    let resp = admin
        .put(
            &format!("/accounts/api/connectedApplications/{client_id}/scopes"),
            json!({ "scopes": scopes }),
        )
        .await;
    assert_eq!(resp.status, 204, "{}", resp.body);
}

/// `view:environment` on every environment of `org` plus `view:organization` on `org`.
pub async fn env_viewer_scopes(admin: &Client, org: &str) -> Value {
    let envs = admin
        .get(&format!("/accounts/api/organizations/{org}/environments"))
        .await
        .json();
    let mut scopes = vec![json!({"scope": "view:organization", "context_params": {"org": org}})];
    for env in envs["data"].as_array().unwrap() {
        scopes.push(json!({
            "scope": "view:environment",
            "context_params": {"org": org, "envId": env["id"]},
        }));
    }
    Value::Array(scopes)
}

/// `POST /accounts/api/v2/oauth2/token` with a form body.
pub async fn token_form(client: &Client, body: &str) -> Resp {
    client
        .send(
            Method::POST,
            "/accounts/api/v2/oauth2/token",
            Some("application/x-www-form-urlencoded"),
            body.as_bytes().to_vec(),
        )
        .await
}

/// The form body of a client_credentials request with these credentials.
pub fn cc_body(client_id: &str, secret: &str) -> String {
    format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}")
}

/// A client_credentials token for `app` (200 expected).
pub async fn app_token(client: &Client, app: &App) -> String {
    let resp = token_form(client, &cc_body(&app.client_id, &app.secret)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["access_token"].as_str().unwrap().to_owned()
}

/// Asserts an RFC 6749 error body with this status and code.
pub fn assert_oauth_error(resp: &Resp, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    let json = resp.json();
    assert_eq!(json["error"], code, "{}", resp.body);
    assert!(json["error_description"].is_string(), "{}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
}
