//! `grant_type=password` (docs/user-grants.md): opt-in per app, the same
//! answers for a wrong password and an unknown user, and the throttle it shares
//! with `POST /accounts/login`.

use std::collections::BTreeSet;

use crate::support::grants::{
    assert_alive, assert_token_error, field, password_app, password_grant, token_form_post,
    CALLBACK,
};
use crate::support::user_apps::{create_user_app, user_id, ADMIN_USERNAME, USER_APP_SCOPES};
use crate::support::{TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn the_password_grant_issues_tokens_for_the_user() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let client = server.client();

    let resp = password_grant(
        &client,
        &app,
        ADMIN_USERNAME,
        ADMIN_PASSWORD,
        Some("openid profile offline_access"),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    let json = resp.json();
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 3600);
    for name in ["access_token", "refresh_token", "id_token"] {
        assert!(!field(&json, name).is_empty());
    }
    let me = client
        .with_token(&field(&json, "access_token"))
        .get("/accounts/api/users/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["id"], user_id(&admin).await);

    // Its refresh token rotates like any other.
    let refreshed =
        crate::support::grants::refresh(&client, &app, &field(&json, "refresh_token"), None).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_ne!(
        field(&refreshed.json(), "refresh_token"),
        field(&json, "refresh_token")
    );

    // Without `scope`: every scope registered on the app.
    let all = password_grant(&client, &app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let granted: BTreeSet<String> = field(&all.json(), "scope")
        .split(' ')
        .map(str::to_owned)
        .collect();
    let registered: BTreeSet<String> = USER_APP_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(granted, registered);

    // client_secret_post, and another user of the organization.
    let org = admin.root_org_id().await;
    server.user_in(&org, "pat", false).await;
    let posted = token_form_post(
        &client,
        &[
            ("grant_type", "password"),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("username", "pat"),
            ("password", ADMIN_PASSWORD),
            ("scope", "profile"),
        ],
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let pat = posted.json();
    assert_eq!(pat["scope"], "profile");
    assert!(pat.get("refresh_token").is_none(), "{pat}");
    let me = client
        .with_token(&field(&pat, "access_token"))
        .get("/accounts/api/users/me")
        .await;
    assert_eq!(me.json()["username"], "pat", "{}", me.body);

    // A scope the app did not register.
    let wider = password_grant(
        &client,
        &app,
        ADMIN_USERNAME,
        ADMIN_PASSWORD,
        Some("read:full"),
    )
    .await;
    assert_token_error(&wider, 400, "invalid_scope");
}

#[tokio::test]
async fn an_app_without_the_password_grant_is_unauthorized_client() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Code Only", CALLBACK).await;
    let resp = password_grant(&server.client(), &app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await;
    assert_token_error(&resp, 400, "unauthorized_client");
    assert!(resp.json().get("access_token").is_none());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let client = server.client();
    let wrong = password_grant(&client, &app, ADMIN_USERNAME, "not-the-password", None).await;
    let unknown = password_grant(&client, &app, "nobody-here", "not-the-password", None).await;
    assert_token_error(&wrong, 400, "invalid_grant");
    assert_token_error(&unknown, 400, "invalid_grant");
    assert_eq!(wrong.body, unknown.body, "no user enumeration");
}

#[tokio::test]
async fn failures_on_the_grant_throttle_the_login_endpoint_too() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "victim", false).await;
    let client = server.client();
    for _ in 0..10 {
        let resp = password_grant(&client, &app, "victim", "guessed-wrong", None).await;
        assert_token_error(&resp, 400, "invalid_grant");
    }
    let login = client.login("victim", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 429, "{}", login.body);
    let grant = password_grant(&client, &app, "victim", ADMIN_PASSWORD, None).await;
    assert_token_error(&grant, 429, "temporarily_unavailable");
    assert!(grant.header("retry-after").is_some());
    // Other accounts are not affected.
    let other = password_grant(&client, &app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await;
    assert_eq!(other.status, 200, "{}", other.body);
}

#[tokio::test]
async fn failures_on_the_login_endpoint_throttle_the_grant_too() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "victim", false).await;
    let client = server.client();
    for _ in 0..10 {
        client
            .login("victim", "guessed-wrong")
            .await
            .assert_error(401);
    }
    let grant = password_grant(&client, &app, "victim", ADMIN_PASSWORD, None).await;
    assert_token_error(&grant, 429, "temporarily_unavailable");
}

#[tokio::test]
async fn the_password_grant_needs_the_client_secret() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let client = server.client();
    let user = [
        ("grant_type", "password"),
        ("username", ADMIN_USERNAME),
        ("password", ADMIN_PASSWORD),
    ];
    let mut no_secret = user.to_vec();
    no_secret.push(("client_id", &app.client_id));
    let resp = token_form_post(&client, &no_secret).await;
    assert_token_error(&resp, 401, "invalid_client");

    let mut wrong_secret = no_secret.clone();
    wrong_secret.push(("client_secret", "not-the-secret"));
    let resp = token_form_post(&client, &wrong_secret).await;
    assert_token_error(&resp, 401, "invalid_client");

    let resp = token_form_post(&client, &user).await;
    assert_token_error(&resp, 401, "invalid_client");

    // With the secret it works.
    let mut right = no_secret.clone();
    right.push(("client_secret", &app.secret));
    let ok = token_form_post(&client, &right).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_alive(&server, &field(&ok.json(), "access_token"), "the token").await;
}
