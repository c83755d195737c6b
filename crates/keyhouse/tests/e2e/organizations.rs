//! Organizations and business groups, and who may touch them.

use serde_json::json;

use crate::support::{Client, TestServer};

async fn create_bg(client: &Client, parent: &str, name: &str) -> serde_json::Value {
    let resp = client
        .post(
            "/accounts/api/organizations",
            json!({"name": name, "parentOrganizationId": parent}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()
}

#[tokio::test]
async fn organization_object_has_the_anypoint_fields() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let resp = admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let org = resp.json();
    assert_eq!(org["id"], root.as_str());
    assert_eq!(org["isRoot"], true);
    assert_eq!(org["sessionTimeout"], 60);
    assert!(org["entitlements"].is_object());
    assert!(org["environments"].as_array().unwrap().len() == 2);
    assert_eq!(org["owner"]["username"], "admin");
    assert_eq!(org["parentOrganizationIds"], json!([]));
    assert_eq!(org["subOrganizationIds"], json!([]));
}

#[tokio::test]
async fn business_groups_form_a_tree_of_any_depth() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let a = create_bg(&admin, &root, "A").await;
    let a_id = a["id"].as_str().unwrap();
    assert_eq!(a["parentOrganizationIds"], json!([root]));
    assert_eq!(a["isRoot"], false);
    let env_names: Vec<&str> = a["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env_names, vec!["Sandbox", "Design"]);
    let b = create_bg(&admin, a_id, "B").await;
    let c = create_bg(&admin, b["id"].as_str().unwrap(), "C").await;
    assert_eq!(
        c["parentOrganizationIds"],
        json!([root, a_id, b["id"].as_str().unwrap()])
    );
    let root_obj = admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await
        .json();
    assert_eq!(root_obj["subOrganizationIds"], json!([a_id]));
    let tree = admin
        .get(&format!("/accounts/api/organizations/{root}/hierarchy"))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let tree = tree.json();
    assert_eq!(tree["id"], root.as_str());
    assert_eq!(tree["subOrganizations"][0]["name"], "A");
    assert_eq!(
        tree["subOrganizations"][0]["subOrganizations"][0]["name"],
        "B"
    );
    assert_eq!(
        tree["subOrganizations"][0]["subOrganizations"][0]["subOrganizations"][0]["name"],
        "C"
    );
}

#[tokio::test]
async fn creating_a_business_group_validates_input() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let cases = [
        json!({"parentOrganizationId": root}),
        json!({"name": "  ", "parentOrganizationId": root}),
        json!({"name": "x".repeat(300), "parentOrganizationId": root}),
        json!({"name": "NoParent"}),
        json!({"name": "BadParent", "parentOrganizationId": "not-a-uuid"}),
        json!({"name": "BadOwner", "parentOrganizationId": root, "ownerId": "nope"}),
        json!({"name": "StrangeOwner", "parentOrganizationId": root, "ownerId": uuid::Uuid::new_v4()}),
        json!({"name": "BadEnt", "parentOrganizationId": root, "entitlements": [1]}),
    ];
    for body in cases {
        let resp = admin
            .post("/accounts/api/organizations", body.clone())
            .await;
        resp.assert_error(400);
    }
    let root_obj = admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await
        .json();
    assert_eq!(
        root_obj["subOrganizationIds"],
        json!([]),
        "nothing half-written"
    );
}

#[tokio::test]
async fn update_changes_name_and_timeout_and_refuses_bad_values() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let bg = create_bg(&admin, &root, "Old").await;
    let path = format!("/accounts/api/organizations/{}", bg["id"].as_str().unwrap());
    let resp = admin
        .put(
            &path,
            json!({"name": "New", "sessionTimeout": 30, "properties": {"a": 1}}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["name"], "New");
    assert_eq!(resp.json()["sessionTimeout"], 30);
    for bad in [
        json!({"name": "Bad", "sessionTimeout": 5}),
        json!({"name": "Bad", "sessionTimeout": 500}),
        json!({"name": "Bad", "parentOrganizationId": uuid::Uuid::new_v4()}),
        json!({"name": "Bad", "id": uuid::Uuid::new_v4()}),
        json!({"name": ""}),
        json!({"name": "Bad", "properties": "x"}),
        json!({"name": "Bad", "sessionTimeout": "sixty"}),
    ] {
        admin.put(&path, bad).await.assert_error(400);
    }
    let now = admin.get(&path).await.json();
    assert_eq!(now["name"], "New", "a refused update leaves data untouched");
    assert_eq!(now["sessionTimeout"], 30);
}

#[tokio::test]
async fn session_timeout_sets_the_lifetime_of_new_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let resp = admin
        .put(
            &format!("/accounts/api/organizations/{root}"),
            json!({"sessionTimeout": 15}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let after = admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await
        .json();
    assert_eq!(after["sessionTimeout"], 15);
}

#[tokio::test]
async fn delete_removes_leaf_business_groups_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let parent = create_bg(&admin, &root, "Parent").await;
    let parent_id = parent["id"].as_str().unwrap();
    let child = create_bg(&admin, parent_id, "Child").await;
    let child_path = format!(
        "/accounts/api/organizations/{}",
        child["id"].as_str().unwrap()
    );
    admin
        .delete(&format!("/accounts/api/organizations/{parent_id}"))
        .await
        .assert_error(400);
    admin
        .delete(&format!("/accounts/api/organizations/{root}"))
        .await
        .assert_error(400);
    let resp = admin.delete(&child_path).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    admin.get(&child_path).await.assert_error(403);
    let parent_now = admin
        .get(&format!("/accounts/api/organizations/{parent_id}"))
        .await
        .json();
    assert_eq!(parent_now["subOrganizationIds"], json!([]));
}

#[tokio::test]
async fn another_tenant_cannot_see_or_change_the_organization() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let other = server.second_tenant("Globex", "globex-admin").await;
    let other_root = other.root_org_id().await;
    assert_ne!(root, other_root);
    for path in [
        format!("/accounts/api/organizations/{root}"),
        format!("/accounts/api/organizations/{root}/environments"),
        format!("/accounts/api/organizations/{root}/hierarchy"),
    ] {
        other.get(&path).await.assert_error(403);
    }
    other
        .post(
            &format!("/accounts/api/organizations/{root}/environments"),
            json!({"name": "Intruder", "type": "sandbox"}),
        )
        .await
        .assert_error(403);
    other
        .post(
            "/accounts/api/organizations",
            json!({"name": "Intruder", "parentOrganizationId": root}),
        )
        .await
        .assert_error(403);
    other
        .put(
            &format!("/accounts/api/organizations/{root}"),
            json!({"name": "Pwned"}),
        )
        .await
        .assert_error(403);
    // Unknown ids get the same answer as foreign ones: nothing leaks.
    other
        .get(&format!(
            "/accounts/api/organizations/{}",
            uuid::Uuid::new_v4()
        ))
        .await
        .assert_error(403);
    let mine = admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await
        .json();
    assert_eq!(mine["name"], "Keyhouse");
    assert_eq!(mine["environments"].as_array().unwrap().len(), 2);
    let me = other.get("/accounts/api/users/me").await.json();
    assert_eq!(me["memberOfOrganizations"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn members_read_and_business_group_admins_manage_only_their_group() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let bg = create_bg(&admin, &root, "Team").await;
    let bg_id = bg["id"].as_str().unwrap().to_owned();

    let member = server.user_in(&root, "reader", false).await;
    assert_eq!(
        member
            .get(&format!("/accounts/api/organizations/{root}"))
            .await
            .status,
        200
    );
    assert_eq!(
        member
            .get(&format!("/accounts/api/organizations/{root}/environments"))
            .await
            .status,
        200
    );
    member
        .post(
            &format!("/accounts/api/organizations/{root}/environments"),
            json!({"name": "Nope", "type": "sandbox"}),
        )
        .await
        .assert_error(403);
    member
        .post(
            "/accounts/api/organizations",
            json!({"name": "Nope", "parentOrganizationId": root}),
        )
        .await
        .assert_error(403);
    member
        .get(&format!("/accounts/api/organizations/{bg_id}"))
        .await
        .assert_error(403);

    let bg_admin = server.user_in(&bg_id, "team-admin", true).await;
    let sub = create_bg(&bg_admin, &bg_id, "Sub").await;
    assert_eq!(sub["parentOrganizationIds"], json!([root, bg_id]));
    let created = bg_admin
        .post(
            &format!("/accounts/api/organizations/{bg_id}/environments"),
            json!({"name": "QA", "type": "sandbox"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    bg_admin
        .get(&format!("/accounts/api/organizations/{root}"))
        .await
        .assert_error(403);
    bg_admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "Sibling", "parentOrganizationId": root}),
        )
        .await
        .assert_error(403);
    let me = bg_admin.get("/accounts/api/users/me").await.json();
    let names: Vec<&str> = me["memberOfOrganizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Team", "Sub"]);
}
