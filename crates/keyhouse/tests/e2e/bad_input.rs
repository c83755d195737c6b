//! Malformed requests: always a clear 4xx in Anypoint's shape, never a 5xx.

use reqwest::Method;

use crate::support::http::post_oversized;
use crate::support::TestServer;

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = format!(
        "/accounts/api/organizations/{}/environments",
        admin.root_org_id().await
    );
    // Announced sizes over the limit are refused before the body is read.
    let resp = post_oversized(
        &server.base,
        &path,
        "application/json",
        2 * 1024 * 1024,
        admin.token.as_deref(),
    )
    .await;
    resp.assert_error(413);
    let login = post_oversized(
        &server.base,
        "/accounts/login",
        "application/json",
        3 * 1024 * 1024,
        None,
    )
    .await;
    login.assert_error(413);
    assert_eq!(server.client().get("/healthz").await.status, 200);
}

#[tokio::test]
async fn malformed_bodies_get_400() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let path = format!(
        "/accounts/api/organizations/{}/environments",
        admin.root_org_id().await
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        b"{not json".to_vec(),
        deep.into_bytes(),
        b"".to_vec(),
        b"\"just a string\"".to_vec(),
        b"{\"name\":\"a\",\"name\":\"b\"".to_vec(),
    ];
    for body in bodies {
        let resp = admin
            .send(Method::POST, &path, Some("application/json"), body)
            .await;
        resp.assert_error(400);
    }
    let form = server
        .client()
        .send(
            Method::POST,
            "/accounts/login",
            Some("application/x-www-form-urlencoded"),
            b"username=%ZZ&password=%".to_vec(),
        )
        .await;
    assert!(form.status == 400 || form.status == 401, "{}", form.body);
    admin
        .send(Method::POST, &path, Some("text/plain"), b"name=QA".to_vec())
        .await
        .assert_error(415);
    admin
        .send(Method::POST, &path, None, b"{\"name\":\"QA\"}".to_vec())
        .await
        .assert_error(415);
    assert_eq!(admin.get(&path).await.json()["total"], 2);
}

#[tokio::test]
async fn unknown_paths_methods_and_ids_answer_in_json() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin
        .get("/accounts/api/nothing-here")
        .await
        .assert_error(404);
    admin.delete("/accounts/api/me").await.assert_error(405);
    admin
        .get("/accounts/api/organizations/not-a-uuid")
        .await
        .assert_error(400);
    admin
        .get("/accounts/api/organizations/%FF%FE")
        .await
        .assert_error(400);
    let long_user = "u".repeat(10_000);
    let resp = server.client().login(&long_user, "whatever").await;
    resp.assert_error(401);
}
