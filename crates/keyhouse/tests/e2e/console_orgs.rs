//! The console's business-group and environment pages, and "My authorized
//! apps" with revoke, driven in headless Chromium (docs/console.md): what the
//! page shows after each action, and the same state through the REST API.

use fantoccini::Locator;

use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::console::{browser_sign_in, count, pick};
use crate::support::grants::{password_app, password_grant};
use crate::support::user_apps::ADMIN_USERNAME;
use crate::support::{TestServer, ADMIN_PASSWORD};

/// Waits until `css` matches an element whose text contains `text`.
async fn wait_for_text(browser: &Browser, css: &str, text: &str) {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        for element in browser.find_all(Locator::Css(css)).await.unwrap() {
            if element.text().await.unwrap_or_default().contains(text) {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {css} with '{text}' on {}",
            browser.current_url().await.unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn business_groups_and_environments_are_created_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;

    browser_sign_in(&browser, &server, ADMIN_USERNAME, "/console/orgs").await;
    browser.wait_for_id("org-tree").await;
    browser.type_into("group-name", "Chromium Payments").await;
    pick(&browser, "group-parent", &root).await;
    browser.click_id("create-group").await;
    wait_for_text(&browser, "#org-tree .org-name", "Chromium Payments").await;

    // The REST API sees the new business group under the root.
    let tree = admin
        .get(&format!("/accounts/api/organizations/{root}/hierarchy"))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let group = tree.json()["subOrganizations"]
        .as_array()
        .expect("subOrganizations")
        .iter()
        .find(|o| o["name"] == "Chromium Payments")
        .cloned()
        .unwrap_or_else(|| panic!("not in the hierarchy: {}", tree.body));
    let group_id = group["id"].as_str().expect("id").to_owned();

    // Its environments page, and a new environment there.
    browser
        .goto(&format!(
            "{}/console/orgs/{group_id}/environments",
            server.base
        ))
        .await
        .unwrap();
    browser.wait_for_id("new-env-form").await;
    let before = count(&browser, "tr.env-row").await;
    browser.type_into("env-name", "Chromium QA").await;
    pick(&browser, "env-type", "sandbox").await;
    browser.click_id("create-env").await;
    wait_for_text(&browser, "tr.env-row .env-name", "Chromium QA").await;
    assert_eq!(count(&browser, "tr.env-row").await, before + 1);
    let envs = admin
        .get(&format!(
            "/accounts/api/organizations/{group_id}/environments"
        ))
        .await;
    assert!(
        envs.json()["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|e| e["name"] == "Chromium QA" && e["type"] == "sandbox"),
        "{}",
        envs.body
    );

    // A name the core refuses shows its reason on the page.
    browser.type_into("env-name", "Chromium QA").await;
    browser.click_id("create-env").await;
    browser.wait_for_id("form-error").await;
    browser.close().await;
}

#[tokio::test]
async fn a_person_revokes_an_app_on_my_authorized_apps() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let granted = password_grant(
        &server.client(),
        &app,
        ADMIN_USERNAME,
        ADMIN_PASSWORD,
        Some("profile offline_access"),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let access = granted.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    browser
        .goto(&format!("{}/accounts/authorizations", server.base))
        .await
        .unwrap();
    browser.wait_for_id("sign-in-form").await;
    browser.type_into("username", ADMIN_USERNAME).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click_id("sign-in").await;
    browser.wait_for_id("authorized-apps").await;
    let row = format!("tr.authorized-app[data-client-id='{}']", app.client_id);
    assert_eq!(count(&browser, &row).await, 1);
    browser
        .find(Locator::Css(&format!("{row} button.revoke")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_id("no-apps").await;
    assert_eq!(count(&browser, &row).await, 0);

    // The app's token for this person died with the consent.
    let me = server
        .client()
        .with_token(&access)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.status, 401, "{}", me.body);
    browser.close().await;
}
