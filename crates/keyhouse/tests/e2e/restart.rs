//! Data and issued tokens survive a crash (SIGKILL) and restart.

use reqwest::Method;
use serde_json::json;

use crate::support::TestServer;

#[tokio::test]
async fn tokens_and_data_survive_a_kill_and_restart() {
    let mut server = TestServer::start().await;
    assert!(
        server
            .startup_output
            .iter()
            .any(|l| l.contains("created organization")),
        "first start creates the organization: {:?}",
        server.startup_output
    );
    let admin = server.admin().await;
    let logged_out = server.admin().await;
    let root = admin.root_org_id().await;
    let created = admin
        .post(
            &format!("/accounts/api/organizations/{root}/environments"),
            json!({"name": "Durable", "type": "sandbox"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let resp = logged_out
        .send(Method::POST, "/accounts/api/logout", None, Vec::new())
        .await;
    assert_eq!(resp.status, 204);

    server.restart().await;
    assert!(
        !server
            .startup_output
            .iter()
            .any(|l| l.contains("created organization")),
        "a second start reuses what exists: {:?}",
        server.startup_output
    );
    let admin = admin_on(&server, &admin);
    let logged_out = admin_on(&server, &logged_out);
    assert_eq!(
        admin.root_org_id().await,
        root,
        "same organization, same token"
    );
    let envs = admin
        .get(&format!("/accounts/api/organizations/{root}/environments"))
        .await
        .json();
    assert_eq!(envs["total"], 3);
    logged_out.get("/accounts/api/me").await.assert_error(401);
}

/// The same token, pointed at the restarted server's new port.
fn admin_on(server: &TestServer, old: &crate::support::Client) -> crate::support::Client {
    server.client().with_token(old.token.as_deref().unwrap())
}

#[tokio::test]
async fn no_token_or_password_is_stored_in_plaintext() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let token = admin.token.clone().unwrap();
    assert_eq!(admin.get("/accounts/api/me").await.status, 200);
    if crate::support::postgres::backend() != "sqlite" {
        return; // the files below are SQLite's; PostgreSQL stores the same hashed columns
    }
    let mut stored = Vec::new();
    for name in ["keyhouse.db", "keyhouse.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_path().join(name)) {
            stored.extend(bytes);
        }
    }
    assert!(!stored.is_empty());
    for secret in [token.as_str(), crate::support::ADMIN_PASSWORD] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is stored in plaintext"
        );
    }
}
