//! `/accounts/api/me`, `/accounts/api/users/me`, `/accounts/api/profile`.

use crate::support::TestServer;

#[tokio::test]
async fn me_has_the_anypoint_user_shape() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let me = admin.get("/accounts/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let user = &me.json()["user"];
    assert_eq!(user["username"], "admin");
    assert!(user["id"].as_str().unwrap().len() == 36);
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
    let org = &user["organization"];
    let org_id = org["id"].as_str().unwrap();
    assert_eq!(user["organizationId"], org_id);
    assert_eq!(org["name"], "Keyhouse");
    assert_eq!(org["isRoot"], true);
    assert_eq!(org["owner"]["id"], user["id"]);
    assert_eq!(org["clientId"].as_str().unwrap().len(), 32);
    let envs: Vec<&str> = org["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(envs, vec!["Production", "Sandbox"]);
    assert_eq!(
        user["properties"]["cs_auth"]["activeOrganizationId"],
        org_id
    );
    let member_of = user["memberOfOrganizations"].as_array().unwrap();
    assert_eq!(member_of.len(), 1);
    assert_eq!(member_of[0]["id"], org_id);
    assert_eq!(member_of[0]["isRoot"], true);
    assert!(member_of[0].get("entitlements").is_none());
    assert!(user["contributorOfOrganizations"].is_array());
}

#[tokio::test]
async fn users_me_and_profile_are_flat_user_objects() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for path in ["/accounts/api/users/me", "/accounts/api/profile"] {
        let resp = admin.get(path).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.body);
        let user = resp.json();
        assert!(user.get("user").is_none(), "{path} must not be wrapped");
        for field in [
            "id",
            "username",
            "firstName",
            "lastName",
            "email",
            "createdAt",
        ] {
            assert!(user[field].is_string(), "{path}: {field} missing");
        }
        assert_eq!(user["memberOfOrganizations"][0]["isRoot"], true);
    }
}

#[tokio::test]
async fn member_of_lists_business_groups_with_their_parents() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let bg = admin
        .post(
            "/accounts/api/organizations",
            serde_json::json!({"name": "Payments", "parentOrganizationId": root}),
        )
        .await;
    assert_eq!(bg.status, 201, "{}", bg.body);
    let me = admin.get("/accounts/api/users/me").await.json();
    let orgs = me["memberOfOrganizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    let child = orgs.iter().find(|o| o["name"] == "Payments").unwrap();
    assert_eq!(child["isRoot"], false);
    assert_eq!(child["parentId"], root.as_str());
    assert_eq!(child["parentName"], "Keyhouse");
    assert_eq!(child["parentOrganizationIds"][0], root.as_str());
}

/// `/me` answers are kept rendered between requests (issue 4); every change
/// to what they show must reach the very next answer, for users and apps.
#[tokio::test]
async fn me_answers_follow_every_change_at_once() {
    use crate::support::apps::{app_token, create_app};
    use serde_json::json;

    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "watcher").await;
    let app_client = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    // Prime both kinds of answer for both callers.
    for path in ["/accounts/api/me", "/accounts/api/users/me"] {
        assert_eq!(admin.get(path).await.status, 200);
        assert_eq!(app_client.get(path).await.status, 200);
    }

    let env = admin
        .post(
            &format!("/accounts/api/organizations/{root}/environments"),
            json!({"name": "QA", "type": "sandbox"}),
        )
        .await;
    assert_eq!(env.status, 201, "{}", env.body);
    let me = admin.get("/accounts/api/me").await.json();
    let envs = me["user"]["organization"]["environments"]
        .as_array()
        .unwrap();
    assert!(envs.iter().any(|e| e["name"] == "QA"), "{me}");

    let renamed = admin
        .put(
            &format!("/accounts/api/organizations/{root}"),
            json!({"name": "Renamed Inc"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let me = admin.get("/accounts/api/me").await.json();
    assert_eq!(me["user"]["organization"]["name"], "Renamed Inc");
    let flat = admin.get("/accounts/api/users/me").await.json();
    assert_eq!(flat["organization"]["name"], "Renamed Inc");

    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let changed = admin
        .put(
            &format!("/accounts/api/organizations/{root}/users/{admin_id}"),
            json!({"firstName": "Grace"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        admin.get("/accounts/api/me").await.json()["user"]["firstName"],
        "Grace"
    );
    assert_eq!(
        admin.get("/accounts/api/profile").await.json()["firstName"],
        "Grace"
    );
    // The app's /me shows its owner: the same change reaches it.
    assert_eq!(
        app_client.get("/accounts/api/me").await.json()["user"]["firstName"],
        "Grace"
    );

    let patched = admin
        .patch(
            &format!("/accounts/api/connectedApplications/{}", app.client_id),
            json!({"client_name": "watcher renamed"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let me = app_client.get("/accounts/api/me").await.json();
    assert_eq!(me["client"]["name"], "watcher renamed", "{me}");

    // Disabling the app ends its answers, cached or not.
    let disabled = admin
        .patch(
            &format!("/accounts/api/connectedApplications/{}", app.client_id),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(app_client.get("/accounts/api/me").await.status, 401);
}
