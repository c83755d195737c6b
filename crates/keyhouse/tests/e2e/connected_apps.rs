//! Connected-app management: create, read, list, patch, reset, disable, delete.

use serde_json::json;

use crate::support::apps::{app_token, assert_oauth_error, cc_body, create_app, token_form};
use crate::support::TestServer;

#[tokio::test]
async fn create_answers_201_with_the_secret_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "CI pipeline").await;
    assert_eq!(app.client_id.len(), 32);
    assert!(app.client_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(app.secret.len(), 32);
    let json = &app.json;
    assert_eq!(json["client_name"], "CI pipeline");
    assert_eq!(json["grant_types"], json!(["client_credentials"]));
    assert_eq!(json["audience"], "internal");
    assert_eq!(json["enabled"], true);
    assert_eq!(json["org_id"], admin.root_org_id().await.as_str());
    let me = admin.get("/accounts/api/users/me").await.json();
    assert_eq!(json["owner_user_id"], me["id"]);

    let path = format!("/accounts/api/connectedApplications/{}", app.client_id);
    let got = admin.get(&path).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.json().get("client_secret").is_none(),
        "GET never returns the secret"
    );
    assert!(!got.body.contains(&app.secret));
    let org = admin.root_org_id().await;
    let via_org = admin
        .get(&format!(
            "/accounts/api/organizations/{org}/connectedApplications/{}",
            app.client_id
        ))
        .await;
    assert_eq!(via_org.status, 200);
    let list = admin.get("/accounts/api/connectedApplications").await;
    assert!(!list.body.contains(&app.secret));
}

#[tokio::test]
async fn list_pages_and_searches() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for name in ["alpha", "beta", "gamma-build"] {
        create_app(&admin, name).await;
    }
    let all = admin
        .get("/accounts/api/connectedApplications")
        .await
        .json();
    assert_eq!(all["total"], 3);
    let page = admin
        .get("/accounts/api/connectedApplications?offset=1&limit=1")
        .await
        .json();
    assert_eq!(page["total"], 3);
    assert_eq!(page["data"][0]["client_name"], "beta");
    let found = admin
        .get("/accounts/api/connectedApplications?search=BUILD")
        .await
        .json();
    assert_eq!(found["total"], 1);
    assert_eq!(found["data"][0]["client_name"], "gamma-build");
    let org = admin.root_org_id().await;
    let by_org = admin
        .get(&format!(
            "/accounts/api/organizations/{org}/connectedApplications"
        ))
        .await
        .json();
    assert_eq!(by_org["total"], 3);
    admin
        .get("/accounts/api/connectedApplications?limit=0")
        .await
        .assert_error(400);
}

#[tokio::test]
async fn create_validates_every_field_and_writes_nothing_on_error() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    create_app(&admin, "taken").await;
    let base = json!({"client_name": "x", "grant_types": ["client_credentials"],
                      "redirect_uris": [], "public_keys": [], "scopes": []});
    let with = |patch: serde_json::Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let user_app = |patch: serde_json::Value| {
        let mut body = with(
            json!({"grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["https://app.example.com/cb"], "client_uri": "https://app.example.com"}),
        );
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let bad = [
        with(json!({"client_name": ""})),
        with(json!({"client_name": "TAKEN"})),
        with(json!({"grant_types": ["implicit"]})),
        with(json!({"grant_types": []})),
        with(json!({"grant_types": ["client_credentials", "password"]})),
        with(json!({"scopes": ["view:environment"]})),
        with(json!({"audience": "world"})),
        with(json!({"client_secret": "short"})),
        json!({"grant_types": ["client_credentials"]}),
        user_app(json!({"redirect_uris": ["http://app.example.com/cb"]})),
        user_app(json!({"redirect_uris": ["https://app.example.com/cb#frag"]})),
        user_app(json!({"redirect_uris": ["not a uri"]})),
        user_app(json!({"redirect_uris": []})),
        user_app(json!({"scopes": ["no-such-scope"]})),
        user_app(json!({"client_uri": null})),
        user_app(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]})),
        user_app(json!({"public_keys": ["not a key"]})),
    ];
    for body in bad {
        let resp = admin
            .post("/accounts/api/connectedApplications", body.clone())
            .await;
        assert_eq!(resp.status, 400, "accepted {body}: {}", resp.body);
        resp.assert_error(400);
    }
    let ok = admin
        .post(
            "/accounts/api/connectedApplications",
            user_app(json!({"client_name": "web", "redirect_uris": ["http://127.0.0.1:8080/cb"],
                            "scopes": ["openid", "profile", "offline_access"], "audience": "everyone"})),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let total = admin
        .get("/accounts/api/connectedApplications")
        .await
        .json()["total"]
        .clone();
    assert_eq!(total, 2, "only the valid apps were written");
}

#[tokio::test]
async fn patch_renames_and_a_refused_patch_changes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "before").await;
    let path = format!("/accounts/api/connectedApplications/{}", app.client_id);
    let resp = admin.patch(&path, json!({"client_name": "after"})).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["client_name"], "after");
    let refused = admin
        .patch(
            &path,
            json!({"client_name": "sneaky", "grant_types": ["bogus"]}),
        )
        .await;
    refused.assert_error(400);
    assert_eq!(admin.get(&path).await.json()["client_name"], "after");
}

#[tokio::test]
async fn reset_secret_kills_the_old_secret_and_its_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "resettable").await;
    let old_token = app_token(&server.client(), &app).await;
    let path = format!(
        "/accounts/api/connectedApplications/{}?resetSecret=true",
        app.client_id
    );
    let resp = admin
        .send(reqwest::Method::PATCH, &path, None, Vec::new())
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let new_secret = resp.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, app.secret);
    let old = token_form(&server.client(), &cc_body(&app.client_id, &app.secret)).await;
    assert_oauth_error(&old, 401, "invalid_client");
    let mut renewed = app.clone();
    renewed.secret = new_secret;
    let new_token = app_token(&server.client(), &renewed).await;
    let me = |t: &str| server.client().with_token(t);
    me(&old_token)
        .get("/accounts/api/me")
        .await
        .assert_error(401);
    assert_eq!(me(&new_token).get("/accounts/api/me").await.status, 200);
}

#[tokio::test]
async fn disabling_kills_live_tokens_and_blocks_new_ones() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "switch").await;
    let token = app_token(&server.client(), &app).await;
    let holder = server.client().with_token(&token);
    assert_eq!(holder.get("/accounts/api/me").await.status, 200);
    let path = format!("/accounts/api/connectedApplications/{}", app.client_id);
    let off = admin.patch(&path, json!({"enabled": false})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    holder.get("/accounts/api/me").await.assert_error(401);
    let refused = token_form(&server.client(), &cc_body(&app.client_id, &app.secret)).await;
    assert_oauth_error(&refused, 401, "invalid_client");
    let on = admin.patch(&path, json!({"enabled": true})).await;
    assert_eq!(on.status, 200);
    holder.get("/accounts/api/me").await.assert_error(401);
    assert!(!app_token(&server.client(), &app).await.is_empty());
}

#[tokio::test]
async fn deleting_an_app_kills_credentials_and_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "doomed").await;
    let token = app_token(&server.client(), &app).await;
    let org = admin.root_org_id().await;
    let path = format!(
        "/accounts/api/organizations/{org}/connectedApplications/{}",
        app.client_id
    );
    let resp = admin.delete(&path).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    admin.get(&path).await.assert_error(404);
    admin.delete(&path).await.assert_error(404);
    server
        .client()
        .with_token(&token)
        .get("/accounts/api/me")
        .await
        .assert_error(401);
    let refused = token_form(&server.client(), &cc_body(&app.client_id, &app.secret)).await;
    assert_oauth_error(&refused, 401, "invalid_client");
}

#[tokio::test]
async fn only_org_admins_manage_apps() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "guarded").await;
    let member = server.user_in(&root, "plain-member", false).await;
    member
        .post(
            "/accounts/api/connectedApplications",
            json!({"client_name": "mine", "grant_types": ["client_credentials"]}),
        )
        .await
        .assert_error(403);
    let other = server.second_tenant("Umbrella", "umbrella-admin").await;
    other
        .get(&format!(
            "/accounts/api/connectedApplications/{}",
            app.client_id
        ))
        .await
        .assert_error(404);
    other
        .get(&format!(
            "/accounts/api/organizations/{root}/connectedApplications"
        ))
        .await
        .assert_error(403);
    // An app's own token can neither create apps nor raise its own scopes.
    let token = app_token(&server.client(), &app).await;
    let as_app = server.client().with_token(&token);
    as_app
        .post(
            "/accounts/api/connectedApplications",
            json!({"client_name": "spawn", "grant_types": ["client_credentials"]}),
        )
        .await
        .assert_error(403);
    as_app
        .put(
            &format!(
                "/accounts/api/connectedApplications/{}/scopes",
                app.client_id
            ),
            json!({"scopes": [{"scope": "edit:organization", "context_params": {"org": root}}]}),
        )
        .await
        .assert_error(403);
}

#[tokio::test]
async fn client_secrets_are_not_stored_in_plaintext() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "hashed").await;
    let token = app_token(&server.client(), &app).await;
    if crate::support::postgres::backend() != "sqlite" {
        return;
    }
    let mut stored = Vec::new();
    for name in ["keyhouse.db", "keyhouse.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_path().join(name)) {
            stored.extend(bytes);
        }
    }
    for secret in [app.secret.as_str(), token.as_str()] {
        assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
}
