//! Refresh tokens (docs/user-grants.md): rotation on every use, reuse
//! detection that revokes the family, binding to the client, scope narrowing,
//! revocation, and concurrent use.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::support::grants::{
    assert_alive, assert_dead, assert_token_error, code_tokens, create_app_with, field, refresh,
    CALLBACK,
};
use crate::support::user_apps::{create_user_app, token_request, UserApp};
use crate::support::{Client, TestServer};

const OFFLINE: &str = "openid profile offline_access";

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split(' ').map(str::to_owned).collect()
}

/// `POST /accounts/api/v2/oauth2/revoke` as `app`.
async fn revoke(client: &Client, app: &UserApp, token: &str) -> crate::support::http::Resp {
    let req = client
        .raw(Method::POST, "/accounts/api/v2/oauth2/revoke")
        .basic_auth(&app.client_id, Some(&app.secret))
        .form(&[("token", token)]);
    client.run(req).await
}

#[tokio::test]
async fn every_refresh_rotates_the_refresh_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Rotation", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let mut current = field(&tokens, "refresh_token");
    let mut seen = vec![current.clone()];
    for round in 0..3 {
        let resp = refresh(&client, &app, &current, None).await;
        assert_eq!(resp.status, 200, "round {round}: {}", resp.body);
        assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
        let json = resp.json();
        assert_eq!(scope_set(&field(&json, "scope")), scope_set(OFFLINE));
        let next = field(&json, "refresh_token");
        assert!(
            !seen.contains(&next),
            "round {round}: a refresh token came back"
        );
        assert_alive(
            &server,
            &field(&json, "access_token"),
            "the new access token",
        )
        .await;
        seen.push(next.clone());
        current = next;
    }
    let old = refresh(&client, &app, &seen[1], None).await;
    assert_token_error(&old, 400, "invalid_grant");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_family() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Reuse", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let first = field(&tokens, "refresh_token");
    let second = refresh(&client, &app, &first, None).await.json();
    let third = refresh(&client, &app, &field(&second, "refresh_token"), None)
        .await
        .json();
    let latest_access = field(&third, "access_token");
    let latest_refresh = field(&third, "refresh_token");
    assert_alive(&server, &latest_access, "the latest access token").await;

    let replay = refresh(&client, &app, &first, None).await;
    assert_token_error(&replay, 400, "invalid_grant");
    assert_dead(&server, &latest_access, "the latest access token").await;
    assert_dead(
        &server,
        &field(&second, "access_token"),
        "an earlier access token",
    )
    .await;
    let newest = refresh(&client, &app, &latest_refresh, None).await;
    assert_token_error(&newest, 400, "invalid_grant");
}

#[tokio::test]
async fn another_client_cannot_use_or_burn_a_refresh_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let owner = create_user_app(&admin, "Owner", CALLBACK).await;
    let other = create_user_app(&admin, "Other", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &owner, OFFLINE).await;
    let token = field(&tokens, "refresh_token");

    let stolen = refresh(&client, &other, &token, None).await;
    assert_token_error(&stolen, 400, "invalid_grant");
    assert_alive(
        &server,
        &field(&tokens, "access_token"),
        "the owner's access token",
    )
    .await;
    let own = refresh(&client, &owner, &token, None).await;
    assert_eq!(
        own.status, 200,
        "the owner's refresh token was burned: {}",
        own.body
    );

    // Nor can the other client revoke it.
    let next = field(&own.json(), "refresh_token");
    let _ = revoke(&client, &other, &next).await;
    let still = refresh(&client, &owner, &next, None).await;
    assert_eq!(
        still.status, 200,
        "revoked by another client: {}",
        still.body
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Narrowing", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, "openid profile email offline_access").await;

    let narrow = refresh(
        &client,
        &app,
        &field(&tokens, "refresh_token"),
        Some("profile"),
    )
    .await;
    assert_eq!(narrow.status, 200, "{}", narrow.body);
    let narrow = narrow.json();
    assert_eq!(narrow["scope"], "profile", "{narrow}");
    assert!(narrow.get("id_token").is_none(), "{narrow}");
    let access = field(&narrow, "access_token");
    assert_alive(&server, &access, "the narrowed token").await;
    let info = client
        .with_token(&access)
        .get("/accounts/api/v2/oauth2/userinfo")
        .await;
    assert_eq!(info.status, 403, "openid was narrowed away: {}", info.body);

    // The rotated refresh token keeps the whole grant.
    let full = refresh(&client, &app, &field(&narrow, "refresh_token"), None).await;
    assert_eq!(full.status, 200, "{}", full.body);
    let full = full.json();
    assert_eq!(
        scope_set(&field(&full, "scope")),
        scope_set("openid profile email offline_access")
    );

    // `full` is registered on the app but was never granted.
    let wider = refresh(
        &client,
        &app,
        &field(&full, "refresh_token"),
        Some("profile full"),
    )
    .await;
    assert_token_error(&wider, 400, "invalid_scope");
}

#[tokio::test]
async fn a_refused_scope_does_not_burn_the_refresh_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Refused Scope", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let token = field(&tokens, "refresh_token");
    let wider = refresh(&client, &app, &token, Some("openid full")).await;
    assert_token_error(&wider, 400, "invalid_scope");
    let retry = refresh(&client, &app, &token, None).await;
    assert_eq!(
        retry.status, 200,
        "a refused request consumed the refresh token: {}",
        retry.body
    );
    assert_alive(
        &server,
        &field(&tokens, "access_token"),
        "the access token of the grant",
    )
    .await;
}

#[tokio::test]
async fn no_refresh_token_without_offline_access_or_the_refresh_grant() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Online Only", CALLBACK).await;
    let online = code_tokens(&server, &app, "openid profile").await;
    assert!(online.get("refresh_token").is_none(), "{online}");

    // offline_access granted, but the app may not refresh.
    let no_refresh = create_app_with(
        &admin,
        json!({"grant_types": ["authorization_code"], "redirect_uris": [CALLBACK]}),
    )
    .await;
    let tokens = code_tokens(&server, &no_refresh, OFFLINE).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let resp = refresh(
        &server.client(),
        &no_refresh,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        None,
    )
    .await;
    assert_token_error(&resp, 400, "unauthorized_client");
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_family() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Revocation", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let rotated = refresh(&client, &app, &field(&tokens, "refresh_token"), None)
        .await
        .json();
    let access = field(&rotated, "access_token");
    let token = field(&rotated, "refresh_token");
    assert_alive(&server, &access, "the access token").await;

    let resp = revoke(&client, &app, &token).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let after = refresh(&client, &app, &token, None).await;
    assert_token_error(&after, 400, "invalid_grant");
    assert_dead(&server, &access, "the family's access token").await;
    assert_dead(
        &server,
        &field(&tokens, "access_token"),
        "the first access token",
    )
    .await;
    // Revoking again is still a success (RFC 7009 §2.2).
    assert_eq!(revoke(&client, &app, &token).await.status, 200);
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Confused", CALLBACK).await;
    let client = server.client();
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let access = field(&tokens, "access_token");
    for wrong in [access.as_str(), &field(&tokens, "id_token")] {
        let resp = refresh(&client, &app, wrong, None).await;
        assert_token_error(&resp, 400, "invalid_grant");
    }
    let missing = token_request(&client, &app, &[("grant_type", "refresh_token")]).await;
    assert_token_error(&missing, 400, "invalid_request");
    assert_alive(&server, &access, "the access token").await;
    let ok = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_refreshes_of_one_token_succeed_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Racing", CALLBACK).await;
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let token = field(&tokens, "refresh_token");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (client, app, token) = (server.client(), app.clone(), token.clone());
            tokio::spawn(async move { refresh(&client, &app, &token, None).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let resp = task.await.unwrap();
        if resp.status == 200 {
            ok += 1;
        } else {
            assert_token_error(&resp, 400, "invalid_grant");
        }
    }
    assert_eq!(ok, 1, "exactly one of the parallel refreshes may succeed");
}

#[tokio::test]
async fn a_secret_reset_ends_the_refresh_tokens_issued_before() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let mut app = create_user_app(&admin, "Reset", CALLBACK).await;
    let tokens = code_tokens(&server, &app, OFFLINE).await;
    let reset = admin
        .patch(
            &format!(
                "/accounts/api/connectedApplications/{}?resetSecret=true",
                app.client_id
            ),
            json!({}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let client = server.client();
    let old_secret = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_token_error(&old_secret, 401, "invalid_client");
    app.secret = field(&reset.json(), "client_secret");
    let resp = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_token_error(&resp, 400, "invalid_grant");
}
