//! A user's authorized apps and their revocation (docs/user-grants.md,
//! "Authorized apps"): the API for the user, the admin API for one app's
//! grants, and the authorized-apps page.

use std::collections::BTreeSet;

use crate::support::grants::{
    assert_alive, assert_dead, assert_error_redirect, assert_page_headers, assert_token_error,
    code_for, code_tokens, code_tokens_as, field, form_csrf, password_app, password_grant, refresh,
    CALLBACK,
};
use crate::support::pages::Agent;
use crate::support::user_apps::{
    authorize_url, create_user_app, exchange_code, user_id, ADMIN_USERNAME,
};
use crate::support::{TestServer, ADMIN_PASSWORD};

const MINE: &str = "/accounts/api/users/me/authorizations";
const OFFLINE: &str = "openid profile offline_access";

#[tokio::test]
async fn the_user_sees_the_apps_they_authorized() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Listed App", CALLBACK).await;
    let empty = admin.get(MINE).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.json()["total"], 0);

    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &app, OFFLINE, ADMIN_USERNAME).await;
    let listed = admin.get(MINE).await.json();
    assert_eq!(listed["total"], 1, "{listed}");
    let entry = &listed["data"][0];
    assert_eq!(entry["client_id"], app.client_id);
    assert_eq!(entry["client_name"], "Listed App");
    let scopes: BTreeSet<&str> = entry["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        BTreeSet::from(["offline_access", "openid", "profile"])
    );
    assert!(entry["created_at"].is_string() && entry["updated_at"].is_string());
    assert!(entry["last_used_at"].is_null(), "no token yet: {entry}");

    let tokens = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let listed = admin.get(MINE).await.json();
    assert!(
        listed["data"][0]["last_used_at"].is_string(),
        "a token was issued: {listed}"
    );
}

#[tokio::test]
async fn revoking_an_app_kills_its_tokens_codes_and_consent_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Revoked App", CALLBACK).await;
    let other = create_user_app(&admin, "Kept App", CALLBACK).await;
    let client = server.client();
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &app, OFFLINE, ADMIN_USERNAME).await;
    let tokens = exchange_code(&client, &app, &code, &pkce.verifier)
        .await
        .json();
    let (unused, unused_pkce) = code_for(&server, &agent, &app, OFFLINE, ADMIN_USERNAME).await;
    let kept = code_tokens(&server, &other, OFFLINE).await;
    // Another user's revocation is about their own grants only.
    let org = admin.root_org_id().await;
    let member = server.user_in(&org, "member", false).await;
    member
        .delete(&format!("{MINE}/{}", app.client_id))
        .await
        .assert_error(404);
    let access = field(&tokens, "access_token");
    assert_alive(&server, &access, "the access token").await;

    let resp = admin.delete(&format!("{MINE}/{}", app.client_id)).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert_dead(&server, &access, "the revoked app's access token").await;
    let refreshed = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_token_error(&refreshed, 400, "invalid_grant");
    let late = exchange_code(&client, &app, &unused, &unused_pkce.verifier).await;
    assert_token_error(&late, 400, "invalid_grant");

    // The consent is gone: the app must ask again.
    let silent = authorize_url(
        &server.base,
        &app,
        &[("scope", "openid"), ("prompt", "none"), ("state", "s")],
    );
    let page = agent.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "consent_required", Some("s"));

    // The other app is untouched.
    assert_alive(
        &server,
        &field(&kept, "access_token"),
        "the other app's token",
    )
    .await;
    let listed = admin.get(MINE).await.json();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["data"][0]["client_id"], other.client_id);

    let again = admin.delete(&format!("{MINE}/{}", app.client_id)).await;
    again.assert_error(404);
}

#[tokio::test]
async fn an_admin_lists_and_revokes_every_grant_of_an_app() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let member = server.user_in(&org, "member", false).await;
    let app = create_user_app(&admin, "Shared App", CALLBACK).await;
    let grants = format!(
        "/accounts/api/organizations/{org}/connectedApplications/{}/grants",
        app.client_id
    );
    let of_admin = code_tokens(&server, &app, OFFLINE).await;
    let of_member = code_tokens_as(&server, &app, OFFLINE, "member").await;
    let member_browser = Agent::new(&server);
    let (unused, unused_pkce) = code_for(&server, &member_browser, &app, OFFLINE, "member").await;

    let listed = admin.get(&grants).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed = listed.json();
    assert_eq!(listed["total"], 2, "{listed}");
    let users: BTreeSet<(String, String)> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["client_id"], app.client_id, "{g}");
            (
                g["username"].as_str().unwrap().to_owned(),
                g["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        users,
        BTreeSet::from([
            (ADMIN_USERNAME.to_owned(), user_id(&admin).await),
            ("member".to_owned(), user_id(&member).await),
        ])
    );

    // A member may not look or revoke.
    member.get(&grants).await.assert_error(403);
    member.delete(&grants).await.assert_error(403);
    // Nor may the admin of another organization.
    let stranger = server.second_tenant("Elsewhere", "stranger").await;
    for resp in [stranger.get(&grants).await, stranger.delete(&grants).await] {
        assert!(
            resp.status == 403 || resp.status == 404,
            "another tenant's admin: {} {}",
            resp.status,
            resp.body
        );
    }
    assert_alive(
        &server,
        &field(&of_admin, "access_token"),
        "the admin's token",
    )
    .await;

    let resp = admin.delete(&grants).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    let client = server.client();
    for (who, tokens) in [("admin", &of_admin), ("member", &of_member)] {
        assert_dead(&server, &field(tokens, "access_token"), who).await;
        let resp = refresh(&client, &app, &field(tokens, "refresh_token"), None).await;
        assert_token_error(&resp, 400, "invalid_grant");
    }
    let late = exchange_code(&client, &app, &unused, &unused_pkce.verifier).await;
    assert_token_error(&late, 400, "invalid_grant");
    assert_eq!(admin.get(&grants).await.json()["total"], 0);
}

#[tokio::test]
async fn the_authorized_apps_page_lists_and_revokes() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Page App", CALLBACK).await;
    let client = server.client();
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &app, OFFLINE, ADMIN_USERNAME).await;
    let tokens = exchange_code(&client, &app, &code, &pkce.verifier)
        .await
        .json();

    let page = agent.get("/accounts/authorizations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_page_headers(&page, "the authorized-apps page");
    assert!(page.has_id("authorized-apps"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-client-id=\"{}\"", app.client_id)),
        "{}",
        page.body
    );
    assert!(page.body.contains("Page App"), "{}", page.body);
    let action = format!("/accounts/authorizations/{}/revoke", app.client_id);
    let csrf = form_csrf(&page, &action).expect("a revoke form for the app");

    // Without the row's token, or without the session: refused, nothing revoked.
    let forged = agent.post_form(&action, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let stranger = Agent::new(&server)
        .post_form(&action, &[("csrf", &csrf)])
        .await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    assert_alive(&server, &field(&tokens, "access_token"), "the access token").await;

    let revoked = agent.post_form(&action, &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(
        revoked.location().unwrap().path(),
        "/accounts/authorizations"
    );
    assert_dead(&server, &field(&tokens, "access_token"), "the access token").await;
    let resp = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_token_error(&resp, 400, "invalid_grant");
    let page = agent.get("/accounts/authorizations").await;
    assert!(page.has_id("no-apps"), "{}", page.body);

    // Without a session the page asks to sign in.
    let anonymous = Agent::new(&server).get("/accounts/authorizations").await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    assert!(anonymous.has_id("sign-in-form"), "{}", anonymous.body);
}

#[tokio::test]
async fn password_grants_are_listed_and_revocable_too() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let client = server.client();
    let resp = password_grant(&client, &app, ADMIN_USERNAME, ADMIN_PASSWORD, Some(OFFLINE)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let tokens = resp.json();
    let listed = admin.get(MINE).await.json();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["data"][0]["client_id"], app.client_id);
    assert!(listed["data"][0]["last_used_at"].is_string(), "{listed}");

    let resp = admin.delete(&format!("{MINE}/{}", app.client_id)).await;
    assert_eq!(resp.status, 204, "{}", resp.body);
    assert_dead(
        &server,
        &field(&tokens, "access_token"),
        "the password-grant token",
    )
    .await;
    let resp = refresh(&client, &app, &field(&tokens, "refresh_token"), None).await;
    assert_token_error(&resp, 400, "invalid_grant");
}

#[tokio::test]
async fn signing_out_ends_the_browser_session() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Sign Out", CALLBACK).await;
    let agent = Agent::new(&server);
    code_for(&server, &agent, &app, "openid", ADMIN_USERNAME).await;
    let page = agent.get("/accounts/authorizations").await;
    assert!(page.has_id("sign-out"), "{}", page.body);
    let csrf = form_csrf(&page, "/accounts/signout").expect("sign-out form");

    let forged = agent
        .post_form("/accounts/signout", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let out = agent
        .post_form("/accounts/signout", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, 303, "{}", out.body);

    let silent = authorize_url(
        &server.base,
        &app,
        &[("scope", "openid"), ("prompt", "none"), ("state", "out")],
    );
    let page = agent.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "login_required", Some("out"));
    let page = agent.get("/accounts/authorizations").await;
    assert!(page.has_id("sign-in-form"), "{}", page.body);
}
