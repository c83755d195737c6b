//! The console's users page (docs/console.md): create, disable, enable and
//! delete in headless Chromium (skipped without a browser unless
//! `KEYHOUSE_REQUIRE_BROWSER=1`), and its form protections and refusals over
//! plain HTTP.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::console::{
    browser_sign_in, count, form_input, screenshot, signed_in_agent, submit_and_wait, text_of,
    SESSION_COOKIE,
};
use crate::support::grants::post_by_hand;
use crate::support::user_apps::ADMIN_USERNAME;
use crate::support::{Client, TestServer};

const USERS: &str = "/console/users";
const PASSWORD: &str = "console-user-password";

/// Waits until the element with `id` contains `text`.
async fn wait_text(browser: &Browser, id: &str, text: &str) {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        if count(browser, &format!("#{id}")).await > 0 && text_of(browser, id).await.contains(text)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "#{id} never said {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status cell of the user's row.
async fn status_of(browser: &Browser, username: &str) -> String {
    browser
        .wait_for(Locator::Css(&format!("#user-{username} .user-status")))
        .await
        .text()
        .await
        .unwrap()
}

async fn user_id(admin: &Client, username: &str) -> Option<String> {
    let org = admin.root_org_id().await;
    let found = admin
        .get(&format!(
            "/accounts/api/organizations/{org}/users?search={username}"
        ))
        .await
        .json();
    found["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .map(|u| u["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_admin_creates_disables_enables_and_deletes_a_user_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.set_window_size(1200, 1100).await.unwrap();
    let server = TestServer::start().await;
    let admin = server.admin().await;

    browser_sign_in(&browser, &server, ADMIN_USERNAME, USERS).await;
    assert_eq!(text_of(&browser, "user-count").await, "1 user");
    assert!(status_of(&browser, ADMIN_USERNAME)
        .await
        .contains("enabled"));

    // Create: the list comes back with a notice and the new row.
    browser.type_into("new-username", "jules").await;
    browser.type_into("new-email", "jules@example.com").await;
    browser.type_into("new-first-name", "Jules").await;
    browser.type_into("new-last-name", "Verne").await;
    browser.type_into("new-password", PASSWORD).await;
    submit_and_wait(&browser, "create-user", "user-notice").await;
    wait_text(&browser, "user-notice", "The user was created").await;
    assert!(status_of(&browser, "jules").await.contains("enabled"));
    let jules = server.client().logged_in("jules", PASSWORD).await;
    assert_eq!(jules.get("/accounts/api/me").await.status, 200);
    browser
        .goto(&format!("{}{USERS}", server.base))
        .await
        .unwrap();
    browser.wait_for_id("users").await;
    screenshot(&browser, "console-users").await;

    // Disable: the token dies at once and the row says so.
    browser.click_id("disable-jules").await;
    wait_text(&browser, "user-notice", "The user was disabled").await;
    assert!(status_of(&browser, "jules").await.contains("disabled"));
    assert_eq!(jules.get("/accounts/api/me").await.status, 401);
    assert_eq!(server.client().login("jules", PASSWORD).await.status, 401);

    // Enable: signing in works again.
    browser.click_id("enable-jules").await;
    wait_text(&browser, "user-notice", "The user was enabled").await;
    assert!(!status_of(&browser, "jules").await.contains("disabled"));
    assert_eq!(server.client().login("jules", PASSWORD).await.status, 200);

    // Delete, after the confirmation page.
    browser.click_id("delete-jules").await;
    wait_text(&browser, "delete-username", "jules").await;
    browser.click_id("confirm-delete").await;
    wait_text(&browser, "user-notice", "The user was deleted").await;
    assert_eq!(count(&browser, "#user-jules").await, 0);
    assert_eq!(user_id(&admin, "jules").await, None);
    assert_eq!(server.client().login("jules", PASSWORD).await.status, 401);

    // Refusing to disable yourself shows the reason on the list.
    browser.click_id(&format!("disable-{ADMIN_USERNAME}")).await;
    wait_text(&browser, "form-error", "your own user").await;
    browser.close().await;
}

#[tokio::test]
async fn user_forms_refuse_cross_site_posts_foreign_tokens_and_members() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let created = admin
        .post(
            &format!("/accounts/api/organizations/{org}/users"),
            json!({"username": "kim", "firstName": "Kim", "lastName": "Lee",
                   "email": "kim@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let kim = created.json()["id"].as_str().unwrap().to_owned();
    let (agent, session) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let page = agent.get(&format!("{USERS}?q=kim")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = form_input(&page, "enabled-form-kim", "csrf").expect("the disable token");
    let path = format!("/console/users/{kim}/enabled");
    let form = [
        ("csrf", csrf.as_str()),
        ("org", org.as_str()),
        ("enabled", "false"),
    ];
    let cookie = format!("{SESSION_COOKIE}={session}");
    for (what, headers) in [
        ("another origin", vec![("origin", "https://evil.example")]),
        ("cross-site fetch", vec![("sec-fetch-site", "cross-site")]),
    ] {
        let resp = post_by_hand(&server, &path, &cookie, &headers, &form).await;
        assert_eq!(resp.status, 403, "{what}: {}", resp.body);
    }
    let (_, other_session) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let foreign = post_by_hand(
        &server,
        &path,
        &format!("{SESSION_COOKIE}={other_session}"),
        &[],
        &form,
    )
    .await;
    assert_eq!(foreign.status, 403, "a token from another session");
    let delete = format!("/console/users/{kim}/delete");
    let wrong_form = agent.post_form(&delete, &form).await;
    assert_eq!(wrong_form.status, 403, "a token for another form");
    let still = server.client().login("kim", PASSWORD).await;
    assert_eq!(still.status, 200, "kim is untouched: {}", still.body);

    // The same form from the console goes through.
    let done = agent.post_form(&path, &form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(server.client().login("kim", PASSWORD).await.status, 401);

    // A member sees a 403 page, and their own forged posts are refused by the core.
    server.user_in(&org, "member", false).await;
    let (member, _) = signed_in_agent(&server, "member").await;
    let refused = member.get(USERS).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.has_id("error-title"));
}
