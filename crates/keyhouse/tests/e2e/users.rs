//! `/accounts/api/organizations/{orgId}/users[/{userId}]` (docs/users.md):
//! create, list, search, page, update, disable (tokens die at once), delete,
//! audit, and who may do it.

use serde_json::{json, Value};

use crate::support::audit::{app_with, entries, query};
use crate::support::{Client, TestServer};

const PASSWORD: &str = "a-long-user-password";

async fn users_path(admin: &Client) -> String {
    format!(
        "/accounts/api/organizations/{}/users",
        admin.root_org_id().await
    )
}

fn new_user(username: &str) -> Value {
    json!({
        "username": username,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": format!("{username}@example.com"),
        "phoneNumber": "555 0100",
        "password": PASSWORD,
    })
}

/// Creates a user through the API; returns their id.
async fn create(admin: &Client, username: &str) -> String {
    let resp = admin
        .post(&users_path(admin).await, new_user(username))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.json()["id"].as_str().unwrap().to_owned()
}

/// A client logged in as `username` (created with [`PASSWORD`]).
async fn logged_in(server: &TestServer, username: &str) -> Client {
    server.client().logged_in(username, PASSWORD).await
}

#[tokio::test]
async fn create_get_update_and_refuse_bad_input() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = users_path(&admin).await;
    let created = admin.post(&path, new_user("ada.l")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let user = created.json();
    assert_eq!(user["username"], "ada.l");
    assert_eq!(user["firstName"], "Ada");
    assert_eq!(user["email"], "ada.l@example.com");
    assert_eq!(user["phoneNumber"], "555 0100");
    assert_eq!(user["enabled"], true);
    assert_eq!(user["isFederated"], false);
    assert_eq!(user["organizationId"], admin.root_org_id().await.as_str());
    assert!(
        !created.body.contains("argon2") && !created.body.contains(PASSWORD),
        "{}",
        created.body
    );
    let id = user["id"].as_str().unwrap();
    let one = admin.get(&format!("{path}/{id}")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json(), user);

    // The new user can log in.
    let me = logged_in(&server, "ada.l")
        .await
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.json()["user"]["id"], id);

    admin.post(&path, new_user("ADA.L")).await.assert_error(409);
    for bad in [
        json!({}),
        json!({"username": "x y", "firstName": "A", "lastName": "B", "email": "a@b.c", "password": PASSWORD}),
        json!({"username": "shorty", "firstName": "A", "lastName": "B", "email": "a@b.c", "password": "short"}),
        json!({"username": "noemail", "firstName": "A", "lastName": "B", "email": "nope", "password": PASSWORD}),
        json!({"username": "nofirst", "firstName": "", "lastName": "B", "email": "a@b.c", "password": PASSWORD}),
        json!({"username": "nopass", "firstName": "A", "lastName": "B", "email": "a@b.c"}),
        json!({"username": 42, "firstName": "A", "lastName": "B", "email": "a@b.c", "password": PASSWORD}),
    ] {
        let resp = admin.post(&path, bad.clone()).await;
        assert_eq!(resp.status, 400, "{bad}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["status"], 400, "{}", resp.body);
        assert!(body["message"].is_string(), "{}", resp.body);
    }

    let changed = admin
        .put(
            &format!("{path}/{id}"),
            json!({"firstName": "Augusta", "phoneNumber": "", "properties": {}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let changed = changed.json();
    assert_eq!(changed["firstName"], "Augusta");
    assert_eq!(changed["lastName"], "Lovelace");
    assert_eq!(changed["phoneNumber"], Value::Null);
    assert_eq!(admin.get(&format!("{path}/{id}")).await.json(), changed);
    admin
        .put(&format!("{path}/{id}"), json!({"email": "not-an-email"}))
        .await
        .assert_error(400);
    admin
        .put(
            &format!("{path}/{id}"),
            json!({"password": "new-password-1"}),
        )
        .await
        .assert_error(400);
    let unknown = uuid::Uuid::new_v4();
    admin
        .get(&format!("{path}/{unknown}"))
        .await
        .assert_error(404);
    admin
        .get(&format!("{path}/not-a-uuid"))
        .await
        .assert_error(400);
}

#[tokio::test]
async fn list_searches_and_pages() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = users_path(&admin).await;
    for name in ["carol", "dave", "erin"] {
        create(&admin, name).await;
    }
    let all = admin.get(&path).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    assert_eq!(all["total"], 4);
    let names: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "carol", "dave", "erin"]);
    let page = admin.get(&format!("{path}?offset=1&limit=2")).await.json();
    assert_eq!(page["total"], 4);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["username"], "carol");
    let found = admin
        .get(&format!("{path}?search=DAVE%40EXAMPLE"))
        .await
        .json();
    assert_eq!(found["total"], 1);
    assert_eq!(found["data"][0]["username"], "dave");
    let none = admin.get(&format!("{path}?search=%25")).await.json();
    assert_eq!(none["total"], 0, "no wildcards");
    for bad in ["?limit=0", "?limit=abc", "?offset=-1", "?limit=100000"] {
        admin.get(&format!("{path}{bad}")).await.assert_error(400);
    }
}

#[tokio::test]
async fn disabling_a_user_stops_their_token_and_login_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = users_path(&admin).await;
    let id = create(&admin, "frank").await;
    let frank = logged_in(&server, "frank").await;
    assert_eq!(frank.get("/accounts/api/me").await.status, 200);

    let off = admin
        .put(&format!("{path}/{id}"), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.json()["enabled"], false);
    assert_eq!(frank.get("/accounts/api/me").await.status, 401);
    assert_eq!(server.client().login("frank", PASSWORD).await.status, 401);

    let on = admin
        .put(&format!("{path}/{id}"), json!({"enabled": true}))
        .await;
    assert_eq!(on.json()["enabled"], true);
    assert_eq!(
        frank.get("/accounts/api/me").await.status,
        401,
        "the old token stays dead"
    );
    let again = logged_in(&server, "frank").await;
    assert_eq!(again.get("/accounts/api/me").await.status, 200);
}

#[tokio::test]
async fn deleting_a_user_removes_them_and_their_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = users_path(&admin).await;
    let id = create(&admin, "grace").await;
    let grace = logged_in(&server, "grace").await;
    let gone = admin.delete(&format!("{path}/{id}")).await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert!(gone.body.is_empty());
    assert_eq!(grace.get("/accounts/api/me").await.status, 401);
    assert_eq!(server.client().login("grace", PASSWORD).await.status, 401);
    admin.get(&format!("{path}/{id}")).await.assert_error(404);
    admin
        .delete(&format!("{path}/{id}"))
        .await
        .assert_error(404);
    assert_eq!(admin.get(&path).await.json()["total"], 1);
    // The username can be used again.
    create(&admin, "grace").await;
}

#[tokio::test]
async fn changes_are_audited() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let path = users_path(&admin).await;
    let id = create(&admin, "heidi").await;
    let item = format!("{path}/{id}");
    admin.put(&item, json!({"lastName": "Klum"})).await;
    admin.put(&item, json!({"enabled": false})).await;
    admin.put(&item, json!({"enabled": true})).await;
    admin.delete(&item).await;
    let log = entries(&query(&admin, &org, "", json!({"ascending": true, "limit": 1000})).await);
    let actions: Vec<&str> = log
        .iter()
        .filter(|e| e["objectId"] == id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.created",
            "user.updated",
            "user.disabled",
            "user.enabled",
            "user.deleted"
        ]
    );
}

#[tokio::test]
async fn members_apps_and_other_tenants_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let path = users_path(&admin).await;
    let id = create(&admin, "ivan").await;
    let item = format!("{path}/{id}");

    let member = server.user_in(&org, "member", false).await;
    member.get(&path).await.assert_error(403);
    member.get(&item).await.assert_error(403);
    member
        .post(&path, new_user("mallory"))
        .await
        .assert_error(403);
    member
        .put(&item, json!({"enabled": false}))
        .await
        .assert_error(403);
    member.delete(&item).await.assert_error(403);

    let other = server.second_tenant("Elsewhere", "other-admin").await;
    other.get(&path).await.assert_error(403);
    other.delete(&item).await.assert_error(403);
    let their_path = users_path(&other).await;
    other
        .get(&format!("{their_path}/{id}"))
        .await
        .assert_error(404);
    other
        .delete(&format!("{their_path}/{id}"))
        .await
        .assert_error(404);
    assert_eq!(other.get(&their_path).await.json()["total"], 1);

    // Nobody disables or deletes themself or the owner.
    let me = admin.get("/accounts/api/me").await.json();
    let admin_id = me["user"]["id"].as_str().unwrap();
    admin
        .put(&format!("{path}/{admin_id}"), json!({"enabled": false}))
        .await
        .assert_error(400);
    admin
        .delete(&format!("{path}/{admin_id}"))
        .await
        .assert_error(400);

    // Apps: read:orgusers reads, only edit:orgusers changes.
    let reader = app_with(&server, &admin, &org, &["read:orgusers"]).await;
    assert_eq!(reader.get(&path).await.json()["total"], 3);
    assert_eq!(reader.get(&item).await.status, 200);
    assert_eq!(reader.post(&path, new_user("app-made")).await.status, 401);
    let editor = app_with(&server, &admin, &org, &["edit:orgusers"]).await;
    assert_eq!(editor.post(&path, new_user("app-made")).await.status, 201);
    let off = editor.put(&item, json!({"enabled": false})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(server.client().login("ivan", PASSWORD).await.status, 401);
}
