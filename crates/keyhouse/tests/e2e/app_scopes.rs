//! Scopes: the catalogue, setting scopes with context, and enforcement on
//! every call against the app's scopes as they are now.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::support::apps::{app_token, create_app, env_viewer_scopes, set_scopes};
use crate::support::{Client, TestServer};

#[tokio::test]
async fn catalogue_lists_scopes_with_their_context() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let resp = admin.get("/accounts/api/cs/scopes").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let data = resp.json()["data"].as_array().unwrap().clone();
    let find = |name: &str| data.iter().find(|s| s["scope"] == name).cloned().unwrap();
    assert_eq!(find("view:environment")["context"], "org_env");
    assert_eq!(find("read:audit_logs")["context"], "org");
    assert_eq!(find("profile")["context"], "none");
    assert!(find("edit:environment")["name"].is_string());
    server
        .client()
        .get("/accounts/api/cs/scopes")
        .await
        .assert_error(401);
}

#[tokio::test]
async fn scopes_need_the_right_context_in_the_apps_tree() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let env = admin
        .get(&format!("/accounts/api/organizations/{root}/environments"))
        .await
        .json()["data"][0]["id"]
        .clone();
    let app = create_app(&admin, "scoped").await;
    let other = server.second_tenant("Soylent", "soylent-admin").await;
    let foreign = other.root_org_id().await;
    let path = format!(
        "/accounts/api/connectedApplications/{}/scopes",
        app.client_id
    );
    for bad in [
        json!([{"scope": "no:such", "context_params": {"org": root}}]),
        json!([{"scope": "view:environment", "context_params": {"org": root}}]),
        json!([{"scope": "view:environment", "context_params": {"org": root, "envId": uuid::Uuid::new_v4()}}]),
        json!([{"scope": "read:audit_logs", "context_params": {}}]),
        json!([{"scope": "read:audit_logs", "context_params": {"org": root, "envId": env}}]),
        json!([{"scope": "profile", "context_params": {"org": root}}]),
        json!([{"scope": "read:audit_logs", "context_params": {"org": foreign}}]),
        json!([{"scope": "read:audit_logs", "context_params": {"org": "not-a-uuid"}}]),
        json!([{"context_params": {"org": root}}]),
    ] {
        admin
            .put(&path, json!({"scopes": bad}))
            .await
            .assert_error(400);
    }
    let good = json!([
        {"scope": "view:environment", "context_params": {"org": root, "envId": env}},
        {"scope": "read:audit_logs", "context_params": {"org": root}},
        {"scope": "profile", "context_params": {}},
    ]);
    set_scopes(&admin, &app.client_id, good.clone()).await;
    let listed = admin.get(&path).await.json();
    assert_eq!(listed["total"], 3);
    assert_eq!(listed["data"], good);
    let org_path = format!(
        "/accounts/api/organizations/{root}/connectedApplications/{}/scopes",
        app.client_id
    );
    assert_eq!(admin.get(&org_path).await.json()["total"], 3);
}

async fn env_list(client: &Client, org: &str) -> crate::support::http::Resp {
    client
        .get(&format!("/accounts/api/organizations/{org}/environments"))
        .await
}

#[tokio::test]
async fn removing_a_scope_refuses_the_already_issued_token_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "revocable").await;
    set_scopes(
        &admin,
        &app.client_id,
        env_viewer_scopes(&admin, &root).await,
    )
    .await;
    let token = app_token(&server.client(), &app).await;
    let as_app = server.client().with_token(&token);
    let listed = env_list(&as_app, &root).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["total"], 2);

    set_scopes(&admin, &app.client_id, json!([])).await;
    let refused = env_list(&as_app, &root).await;
    refused.assert_error(401);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains("view:environment") || challenge.contains("read:orgenvironments"));

    // PATCH adds back; DELETE removes again.
    let scopes_path = format!(
        "/accounts/api/connectedApplications/{}/scopes",
        app.client_id
    );
    let add = admin
        .patch(
            &scopes_path,
            json!({"scopes": env_viewer_scopes(&admin, &root).await}),
        )
        .await;
    assert_eq!(add.status, 204, "{}", add.body);
    assert_eq!(env_list(&as_app, &root).await.status, 200);
    let remove = admin
        .send(
            Method::DELETE,
            &scopes_path,
            Some("application/json"),
            json!({"scopes": env_viewer_scopes(&admin, &root).await})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(remove.status, 204, "{}", remove.body);
    env_list(&as_app, &root).await.assert_error(401);
}

#[tokio::test]
async fn a_scope_on_one_environment_shows_only_that_environment() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let envs = env_list(&admin, &root).await.json();
    let sandbox = envs["data"][1].clone();
    let app = create_app(&admin, "one-env").await;
    set_scopes(
        &admin,
        &app.client_id,
        json!([
            {"scope": "view:environment", "context_params": {"org": root, "envId": sandbox["id"]}},
        ]),
    )
    .await;
    let as_app = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    let listed = env_list(&as_app, &root).await.json();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["name"], "Sandbox");
    let prod = envs["data"][0]["id"].as_str().unwrap();
    as_app
        .get(&format!(
            "/accounts/api/organizations/{root}/environments/{prod}"
        ))
        .await
        .assert_error(401);
    let sandbox_id = sandbox["id"].as_str().unwrap();
    assert_eq!(
        as_app
            .get(&format!(
                "/accounts/api/organizations/{root}/environments/{sandbox_id}"
            ))
            .await
            .status,
        200
    );
    // Viewing is not editing.
    as_app
        .put(
            &format!("/accounts/api/organizations/{root}/environments/{sandbox_id}"),
            json!({"name": "Renamed"}),
        )
        .await
        .assert_error(401);
    as_app
        .post(
            &format!("/accounts/api/organizations/{root}/environments"),
            json!({"name": "New", "type": "sandbox"}),
        )
        .await
        .assert_error(401);
}

#[tokio::test]
async fn a_scope_on_a_business_group_does_not_reach_parent_sibling_or_child() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let mk = |name: &'static str, parent: String| {
        let admin = admin.clone();
        async move {
            admin
                .post(
                    "/accounts/api/organizations",
                    json!({"name": name, "parentOrganizationId": parent}),
                )
                .await
                .json()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let team = mk("Team", root.clone()).await;
    let sibling = mk("Sibling", root.clone()).await;
    let child = mk("Child", team.clone()).await;
    let app = create_app(&admin, "team-bot").await;
    let mut scopes = env_viewer_scopes(&admin, &team).await;
    scopes
        .as_array_mut()
        .unwrap()
        .push(json!({"scope": "create:environment", "context_params": {"org": team}}));
    set_scopes(&admin, &app.client_id, scopes).await;
    let as_app = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    assert_eq!(env_list(&as_app, &team).await.status, 200);
    for elsewhere in [&root, &sibling, &child] {
        env_list(&as_app, elsewhere).await.assert_error(401);
    }
    let created = as_app
        .post(
            &format!("/accounts/api/organizations/{team}/environments"),
            json!({"name": "Bot env", "type": "sandbox"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Apps never create or delete business groups (user tokens only, as in Anypoint).
    as_app
        .post(
            "/accounts/api/organizations",
            json!({"name": "Nope", "parentOrganizationId": team}),
        )
        .await
        .assert_error(401);
    as_app
        .delete(&format!("/accounts/api/organizations/{child}"))
        .await
        .assert_error(403);
}

#[tokio::test]
async fn an_app_token_of_one_tenant_never_reaches_another() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "tenant-a").await;
    set_scopes(
        &admin,
        &app.client_id,
        env_viewer_scopes(&admin, &root).await,
    )
    .await;
    let other = server.second_tenant("Tyrell", "tyrell-admin").await;
    let foreign = other.root_org_id().await;
    let as_app = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    env_list(&as_app, &foreign).await.assert_error(403);
    as_app
        .get(&format!("/accounts/api/organizations/{foreign}"))
        .await
        .assert_error(403);
}

#[tokio::test]
async fn me_with_an_app_token_shows_the_client_and_its_owner() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "whoami").await;
    set_scopes(
        &admin,
        &app.client_id,
        env_viewer_scopes(&admin, &root).await,
    )
    .await;
    let as_app = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    let me = as_app.get("/accounts/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["client"]["client_id"], app.client_id.as_str());
    assert_eq!(me["client"]["name"], "whoami");
    assert_eq!(me["client"]["org_id"], root.as_str());
    assert_eq!(me["user"]["username"], "admin");
    let flat = as_app.get("/accounts/api/users/me").await.json();
    assert_eq!(flat["username"], "admin");
    assert_eq!(flat["memberOfOrganizations"][0]["id"], root.as_str());
    assert_eq!(flat["memberOfOrganizations"][0]["isRoot"], true);
}

fn shortcut(id: &str, secret: &str) -> String {
    let raw = format!("~~~Client~~~:{id}~?~{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn the_client_shortcut_works_like_a_bearer_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "maven").await;
    set_scopes(
        &admin,
        &app.client_id,
        env_viewer_scopes(&admin, &root).await,
    )
    .await;
    let client = server.client();
    let path = format!("/accounts/api/organizations/{root}/environments");
    let ok = client
        .run(
            client
                .raw(Method::GET, &path)
                .header("authorization", shortcut(&app.client_id, &app.secret)),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let b64 = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let id = &app.client_id;
    let secret = &app.secret;
    for header in [
        shortcut(id, "wrong-secret"),
        shortcut("unknown-client", secret),
        b64(&format!("~~~Client~~~:{id}{secret}")),
        b64(&format!("~~~Client~~~:{id}~?~{secret}~?~x")),
        b64(&format!("~~~Client~~~:~?~{secret}")),
        b64(&format!("client:{id}~?~{secret}")),
        b64(&format!("~~~Client~~~{id}~?~{secret}")),
        "Basic !!!not-base64!!!".to_owned(),
        b64(&format!("~~~Client~~~:{id}~?~{}", "x".repeat(3000))),
    ] {
        let resp = client
            .run(
                client
                    .raw(Method::GET, &path)
                    .header("authorization", header.clone()),
            )
            .await;
        assert!(
            resp.status == 401 || resp.status == 429,
            "{header}: {}",
            resp.body
        );
    }
    set_scopes(&admin, &app.client_id, json!([])).await;
    let now_refused = client
        .run(
            client
                .raw(Method::GET, &path)
                .header("authorization", shortcut(&app.client_id, &app.secret)),
        )
        .await;
    now_refused.assert_error(401);
}
