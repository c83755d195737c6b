//! `/accounts/api/organizations/{orgId}/environments[/{envId}]`.

use serde_json::json;

use crate::support::{Client, TestServer};

async fn env_path(admin: &Client) -> String {
    format!(
        "/accounts/api/organizations/{}/environments",
        admin.root_org_id().await
    )
}

#[tokio::test]
async fn list_returns_data_and_total_with_paging() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    let all = admin.get(&path).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    assert_eq!(all["total"], 2);
    let first = &all["data"][0];
    assert_eq!(first["name"], "Production");
    assert_eq!(first["isProduction"], true);
    assert_eq!(first["type"], "production");
    assert_eq!(first["clientId"].as_str().unwrap().len(), 32);
    assert_eq!(first["organizationId"], admin.root_org_id().await.as_str());
    let page = admin.get(&format!("{path}?offset=1&limit=1")).await.json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["name"], "Sandbox");
    for bad in ["?limit=0", "?limit=abc", "?offset=-1", "?limit=100000"] {
        admin.get(&format!("{path}{bad}")).await.assert_error(400);
    }
}

#[tokio::test]
async fn create_get_rename_delete() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    let org_id = admin.root_org_id().await;
    let created = admin
        .post(
            &path,
            json!({"name": "QA", "type": "sandbox", "organizationId": org_id}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let env = created.json();
    assert_eq!(env["name"], "QA");
    assert_eq!(env["type"], "sandbox");
    assert_eq!(env["isProduction"], false);
    let id = env["id"].as_str().unwrap();
    let one = admin.get(&format!("{path}/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), env);
    let renamed = admin
        .put(&format!("{path}/{id}"), json!({"name": "QA-2"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json()["name"], "QA-2");
    admin
        .put(&format!("{path}/{id}"), json!({"type": "production"}))
        .await
        .assert_error(400);
    let deleted = admin.delete(&format!("{path}/{id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.body.is_empty());
    admin.get(&format!("{path}/{id}")).await.assert_error(404);
    admin
        .delete(&format!("{path}/{id}"))
        .await
        .assert_error(404);
    assert_eq!(admin.get(&path).await.json()["total"], 2);
}

#[tokio::test]
async fn production_and_design_environments() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    let prod = admin
        .post(
            &path,
            json!({"name": "Prod EU", "type": "production", "isProduction": true}),
        )
        .await;
    assert_eq!(prod.status, 201, "{}", prod.body);
    assert_eq!(prod.json()["isProduction"], true);
    let design = admin
        .post(&path, json!({"name": "Design", "type": "design"}))
        .await;
    assert_eq!(design.json()["type"], "design");
    let default = admin.post(&path, json!({"name": "Default"})).await;
    assert_eq!(default.json()["type"], "sandbox");
}

#[tokio::test]
async fn create_refuses_bad_input_and_duplicates() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x".repeat(300)}),
        json!({"name": "Bad", "type": "staging"}),
        json!({"name": "Bad", "type": "sandbox", "isProduction": true}),
        json!({"name": 42}),
        json!({"name": "Bad\u{0000}Name"}),
    ] {
        admin.post(&path, bad).await.assert_error(400);
    }
    admin
        .post(&path, json!({"name": "Sandbox", "type": "sandbox"}))
        .await
        .assert_error(409);
    assert_eq!(admin.get(&path).await.json()["total"], 2, "nothing written");
}

#[tokio::test]
async fn unknown_or_foreign_environment_ids_are_404() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    admin
        .get(&format!("{path}/{}", uuid::Uuid::new_v4()))
        .await
        .assert_error(404);
    admin
        .get(&format!("{path}/not-a-uuid"))
        .await
        .assert_error(400);
    let root = admin.root_org_id().await;
    let bg = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "BG", "parentOrganizationId": root}),
        )
        .await
        .json();
    let bg_env = bg["environments"][0]["id"].as_str().unwrap();
    // An environment of the business group is not reachable through the root's path.
    admin
        .get(&format!("{path}/{bg_env}"))
        .await
        .assert_error(404);
    admin
        .delete(&format!("{path}/{bg_env}"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn the_last_environment_cannot_be_deleted() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = env_path(&admin).await;
    let envs = admin.get(&path).await.json();
    let first = envs["data"][0]["id"].as_str().unwrap();
    let second = envs["data"][1]["id"].as_str().unwrap();
    assert_eq!(admin.delete(&format!("{path}/{first}")).await.status, 204);
    admin
        .delete(&format!("{path}/{second}"))
        .await
        .assert_error(400);
    assert_eq!(admin.get(&path).await.json()["total"], 1);
}
