//! `POST /accounts/login`, bearer handling and `POST /accounts/api/logout`.

use reqwest::Method;

use crate::support::{TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn login_with_json_answers_anypoint_shape() {
    let server = TestServer::start().await;
    let resp = server.client().login("admin", ADMIN_PASSWORD).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let json = resp.json();
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["redirectUrl"], "/home/");
    let token = json["access_token"].as_str().unwrap();
    assert!(token.len() >= 22, "token too short for 128 bits: {token}");
    let me = server
        .client()
        .with_token(token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn login_with_form_body_and_case_insensitive_username() {
    let server = TestServer::start().await;
    let body = format!("username=ADMIN&password={ADMIN_PASSWORD}");
    let resp = server
        .client()
        .send(
            Method::POST,
            "/accounts/login",
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.json()["access_token"].is_string());
}

#[tokio::test]
async fn bad_credentials_get_the_same_401_for_unknown_user_and_wrong_password() {
    let server = TestServer::start().await;
    let client = server.client();
    let wrong_password = client.login("admin", "not-the-password").await;
    let unknown_user = client.login("nobody-here", "not-the-password").await;
    wrong_password.assert_error(401);
    unknown_user.assert_error(401);
    assert_eq!(wrong_password.body, unknown_user.body);
}

#[tokio::test]
async fn login_ignores_a_stale_authorization_header() {
    let server = TestServer::start().await;
    let stale = server.client().with_token("stale-token-from-an-old-run");
    let resp = stale.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[tokio::test]
async fn login_rejects_missing_fields_and_wrong_types() {
    let server = TestServer::start().await;
    let client = server.client();
    for body in [
        r#"{"username":"admin"}"#,
        r#"{"password":"x"}"#,
        r#"{}"#,
        r#"{"username":5,"password":"x"}"#,
        r#"{"username":["admin"],"password":"x"}"#,
        r#"[]"#,
        r#"null"#,
        r#"{"username":"admin","password":"#,
    ] {
        let resp = client
            .send(
                Method::POST,
                "/accounts/login",
                Some("application/json"),
                body.as_bytes().to_vec(),
            )
            .await;
        resp.assert_error(400);
    }
    let resp = client
        .send(
            Method::POST,
            "/accounts/login",
            Some("text/plain"),
            b"admin".to_vec(),
        )
        .await;
    resp.assert_error(415);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let token = admin.token.clone().unwrap();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = admin
            .raw(Method::GET, "/accounts/api/me")
            .header("authorization", format!("{scheme} {token}"));
        assert_eq!(admin.run(req).await.status, 200, "scheme {scheme}");
    }
}

#[tokio::test]
async fn missing_or_unknown_tokens_get_401_with_www_authenticate() {
    let server = TestServer::start().await;
    let anonymous = server.client().get("/accounts/api/me").await;
    anonymous.assert_error(401);
    assert!(anonymous
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    let forged = server
        .client()
        .with_token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .get("/accounts/api/me")
        .await;
    forged.assert_error(401);
    assert!(forged
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    let basic = server.client();
    let req = basic
        .raw(Method::GET, "/accounts/api/me")
        .header("authorization", "Basic YWRtaW46eA==");
    basic.run(req).await.assert_error(401);
    let query = server
        .client()
        .get("/accounts/api/me?access_token=anything")
        .await;
    query.assert_error(401);
}

#[tokio::test]
async fn logout_stops_the_token_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let other_session = server.admin().await;
    let resp = admin
        .send(Method::POST, "/accounts/api/logout", None, Vec::new())
        .await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    let after = admin.get("/accounts/api/me").await;
    after.assert_error(401);
    assert!(after
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(other_session.get("/accounts/api/me").await.status, 200);
    let again = admin
        .send(Method::POST, "/accounts/api/logout", None, Vec::new())
        .await;
    again.assert_error(401);
}
