//! The console's administration pages (docs/console.md): identity providers,
//! organization settings and editing an app, in headless Chromium (skipped
//! without a browser unless `KEYHOUSE_REQUIRE_BROWSER=1`), each change checked
//! through the REST API; and over plain HTTP, refused members, cross-site
//! posts, foreign tokens and refused input.

use fantoccini::Locator;
use serde_json::Value;

use crate::support::apps::{cc_body, create_app, token_form};
use crate::support::browser::Browser;
use crate::support::console::{
    browser_sign_in, count, form_input, screenshot, signed_in_agent, submit_and_wait, text_of,
    SESSION_COOKIE,
};
use crate::support::grants::post_by_hand;
use crate::support::saml::idp_certificate;
use crate::support::user_apps::ADMIN_USERNAME;
use crate::support::{Client, TestServer};

/// Replaces the text of the input or textarea with this id.
async fn replace(browser: &Browser, id: &str, text: &str) {
    browser.wait_for_id(id).await.clear().await.unwrap();
    browser.type_into(id, text).await;
}

/// The providers of `org` through the REST API.
async fn providers(admin: &Client, org: &str) -> Vec<Value> {
    let resp = admin
        .get(&format!(
            "/accounts/api/organizations/{org}/identityProviders"
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["data"].as_array().unwrap().clone()
}

/// One provider (found by name) in full, through the REST API.
async fn provider(admin: &Client, org: &str, name: &str) -> Value {
    let listed = providers(admin, org).await;
    let id = listed
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {listed:?}"))["provider_id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .get(&format!(
            "/accounts/api/organizations/{org}/identityProviders/{id}"
        ))
        .await
        .json()
}

/// Opens the provider named `name` from the list.
async fn open_provider(browser: &Browser, server: &TestServer, name: &str) {
    browser
        .goto(&format!("{}/console/idps", server.base))
        .await
        .unwrap();
    browser
        .find(Locator::LinkText(name))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_id("idp-form").await;
}

/// Deletes the provider named `name` after the confirmation step.
async fn delete_provider(browser: &Browser, server: &TestServer, name: &str) {
    open_provider(browser, server, name).await;
    browser.click_id("delete-idp").await;
    assert_eq!(text_of(browser, "idp-name").await, name);
    submit_and_wait(browser, "confirm-delete-idp", "deleted-notice").await;
}

#[tokio::test]
async fn an_admin_adds_edits_and_deletes_identity_providers_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.set_window_size(1200, 1100).await.unwrap();
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    browser_sign_in(&browser, &server, ADMIN_USERNAME, "/console/idps").await;
    browser.wait_for_id("no-idps").await;

    // OpenID Connect: added, with the callback URL to register upstream.
    browser.click_id("new-oidc").await;
    browser.type_into("idp-name-input", "Okta").await;
    browser
        .type_into("idp-issuer", "https://login.okta.example")
        .await;
    browser.type_into("idp-client-id", "keyhouse-client").await;
    browser
        .type_into("idp-client-secret", "upstream-secret-1")
        .await;
    replace(&browser, "idp-scopes", "openid profile email groups").await;
    submit_and_wait(&browser, "save-idp", "saved-notice").await;
    let callback = format!("{}/accounts/login/oidc/callback", server.base);
    assert_eq!(text_of(&browser, "setup-callback").await, callback);
    let secret_field = browser.wait_for_id("idp-client-secret").await;
    assert_eq!(
        secret_field.attr("value").await.unwrap().as_deref(),
        Some("")
    );
    let okta = provider(&admin, &root, "Okta").await;
    assert_eq!(okta["type"]["name"], "openid", "{okta}");
    assert_eq!(
        okta["oidc_provider"]["issuer"],
        "https://login.okta.example"
    );
    assert_eq!(
        okta["oidc_provider"]["scopes"],
        "openid profile email groups"
    );
    assert_eq!(okta["oidc_provider"]["urls"]["redirect"], callback.as_str());
    assert!(!okta.to_string().contains("upstream-secret-1"));

    // Edited: renamed, fewer scopes; the secret left empty is kept.
    open_provider(&browser, &server, "Okta").await;
    replace(&browser, "idp-name-input", "Okta workforce").await;
    replace(&browser, "idp-scopes", "openid email").await;
    submit_and_wait(&browser, "save-idp", "saved-notice").await;
    assert_eq!(text_of(&browser, "idp-title").await, "Okta workforce");
    let okta = provider(&admin, &root, "Okta workforce").await;
    assert_eq!(okta["oidc_provider"]["scopes"], "openid email", "{okta}");
    assert_eq!(
        okta["oidc_provider"]["client"]["credentials"]["id"],
        "keyhouse-client"
    );

    // SAML: added with its certificate, SSO URL and a group → role rule.
    browser
        .goto(&format!("{}/console/idps", server.base))
        .await
        .unwrap();
    browser.click_id("new-saml").await;
    browser.type_into("idp-name-input", "Corporate ADFS").await;
    browser
        .type_into("idp-issuer", "https://adfs.example/adfs/services/trust")
        .await;
    browser
        .type_into("idp-certificates", &idp_certificate())
        .await;
    browser
        .type_into("idp-sso-url", "https://adfs.example/adfs/ls")
        .await;
    browser.type_into("idp-group-attribute", "groups").await;
    browser
        .type_into("idp-group-roles", "Keyhouse admins = admin")
        .await;
    submit_and_wait(&browser, "save-idp", "saved-notice").await;
    assert_eq!(
        text_of(&browser, "setup-acs").await,
        format!("{}/accounts/login/receive-id", server.base)
    );
    assert_eq!(
        text_of(&browser, "setup-metadata").await,
        format!("{}/accounts/saml/metadata", server.base)
    );
    assert_eq!(text_of(&browser, "setup-entity-id").await, server.base);
    screenshot(&browser, "console-idp-saml").await;
    assert!(text_of(&browser, "setup-start")
        .await
        .contains("/accounts/login/saml/"));
    let adfs = provider(&admin, &root, "Corporate ADFS").await;
    assert_eq!(adfs["type"]["name"], "saml", "{adfs}");
    assert_eq!(adfs["saml"]["sign_on_url"], "https://adfs.example/adfs/ls");
    assert_eq!(adfs["saml"]["claims_mapping"]["group_attribute"], "groups");
    assert_eq!(
        adfs["saml"]["group_mappings"][0]["external_group_name"],
        "Keyhouse admins"
    );
    assert_eq!(adfs["saml"]["group_mappings"][0]["role"], "admin");

    // Edited: the rule now makes members, and sign-in starts at the IdP only.
    open_provider(&browser, &server, "Corporate ADFS").await;
    replace(&browser, "idp-group-roles", "Keyhouse admins = member").await;
    browser
        .wait_for_id("idp-sso-url")
        .await
        .clear()
        .await
        .unwrap();
    submit_and_wait(&browser, "save-idp", "saved-notice").await;
    assert_eq!(count(&browser, "#setup-start").await, 0);
    let adfs = provider(&admin, &root, "Corporate ADFS").await;
    assert_eq!(
        adfs["saml"]["group_mappings"][0]["role"], "member",
        "{adfs}"
    );
    assert!(adfs["saml"]["sign_on_url"].is_null(), "{adfs}");

    // The list shows both, with their types and issuers.
    browser
        .goto(&format!("{}/console/idps", server.base))
        .await
        .unwrap();
    browser.wait_for_id("idps").await;
    assert_eq!(count(&browser, "tr.idp").await, 2);
    let table = text_of(&browser, "idps").await;
    for expected in ["OpenID Connect", "SAML 2.0", "https://login.okta.example"] {
        assert!(table.contains(expected), "{expected}: {table}");
    }

    // Deleted, each after the confirmation step.
    delete_provider(&browser, &server, "Okta workforce").await;
    assert_eq!(count(&browser, "tr.idp").await, 1);
    delete_provider(&browser, &server, "Corporate ADFS").await;
    browser.wait_for_id("no-idps").await;
    assert!(providers(&admin, &root).await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn an_admin_sets_the_session_timeout_and_mfa_policy_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let org_path = format!("/accounts/api/organizations/{root}");
    browser_sign_in(&browser, &server, ADMIN_USERNAME, "/console/settings").await;
    let timeout = browser.wait_for_id("session-timeout").await;
    assert_eq!(timeout.prop("value").await.unwrap().as_deref(), Some("60"));

    replace(&browser, "session-timeout", "45").await;
    browser.type_into("login-domain", "acme-console").await;
    browser.click_id("mfa-required").await;
    submit_and_wait(&browser, "save-settings", "saved-notice").await;
    let org = admin.get(&org_path).await.json();
    assert_eq!(org["sessionTimeout"], 45, "{org}");
    assert_eq!(org["domain"], "acme-console", "{org}");
    let mfa = admin.get(&format!("{org_path}/mfa")).await.json();
    assert_eq!(mfa["mfaRequired"], true, "{mfa}");
    let shown = browser.wait_for_id("session-timeout").await;
    assert_eq!(shown.prop("value").await.unwrap().as_deref(), Some("45"));

    // Out of Anypoint's bounds: refused with the reason, nothing written.
    replace(&browser, "session-timeout", "10").await;
    submit_and_wait(&browser, "save-settings", "form-error").await;
    assert!(text_of(&browser, "form-error").await.contains("15"));
    assert_eq!(admin.get(&org_path).await.json()["sessionTimeout"], 45);

    // MFA off again, the login domain cleared.
    browser
        .goto(&format!("{}/console/settings", server.base))
        .await
        .unwrap();
    browser.click_id("mfa-required").await;
    browser
        .wait_for_id("login-domain")
        .await
        .clear()
        .await
        .unwrap();
    submit_and_wait(&browser, "save-settings", "saved-notice").await;
    let mfa = admin.get(&format!("{org_path}/mfa")).await.json();
    assert_eq!(mfa["mfaRequired"], false, "{mfa}");
    assert!(admin.get(&org_path).await.json()["domain"].is_null());
    browser.close().await;
}

#[tokio::test]
async fn an_admin_renames_disables_and_enables_an_app_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "Deploy bot").await;
    let client = server.client();
    let body = cc_body(&app.client_id, &app.secret);
    assert_eq!(token_form(&client, &body).await.status, 200);
    let page = format!("/console/apps/{}", app.client_id);
    browser_sign_in(&browser, &server, ADMIN_USERNAME, &page).await;

    browser.click_id("edit-app").await;
    replace(&browser, "edit-name", "Release bot").await;
    browser.click_id("edit-enabled").await;
    submit_and_wait(&browser, "save-app", "app-name").await;
    assert_eq!(text_of(&browser, "app-name").await, "Release bot");
    assert!(text_of(&browser, "main").await.contains("disabled"));
    let refused = token_form(&client, &body).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_client");
    let json = admin
        .get(&format!(
            "/accounts/api/connectedApplications/{}",
            app.client_id
        ))
        .await
        .json();
    assert_eq!(json["client_name"], "Release bot", "{json}");

    browser.click_id("edit-app").await;
    browser.click_id("edit-enabled").await;
    submit_and_wait(&browser, "save-app", "app-name").await;
    assert!(!text_of(&browser, "main").await.contains("disabled"));
    assert_eq!(token_form(&client, &body).await.status, 200);

    // A rule the core enforces: the reason is shown on the form again.
    browser.click_id("edit-app").await;
    browser.click_id("edit-grant-authorization_code").await;
    submit_and_wait(&browser, "save-app", "form-error").await;
    let problem = text_of(&browser, "form-error").await;
    assert!(problem.contains("own behalf"), "{problem}");
    browser.close().await;
}

#[tokio::test]
async fn a_member_is_refused_the_admin_pages_and_by_the_core() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "Admin's app").await;
    server.user_in(&root, "member", false).await;
    let (agent, _) = signed_in_agent(&server, "member").await;
    for path in [
        "/console/idps".to_owned(),
        "/console/settings".to_owned(),
        format!("/console/apps/{}/edit", app.client_id),
    ] {
        let page = agent.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(page.has_id("error-title") && page.has_id("nav-authorizations"));
    }
    // The add form needs no data, but the core refuses what is posted.
    let form = agent.get("/console/idps/new?type=openid").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form_input(&form, "idp-form", "csrf").unwrap();
    let posted = agent
        .post_form(
            "/console/idps",
            &[
                ("csrf", csrf.as_str()),
                ("org", root.as_str()),
                ("type", "openid"),
                ("name", "Member's IdP"),
                ("issuer", "https://idp.example"),
                ("client_id", "x"),
                ("client_secret", "y"),
            ],
        )
        .await;
    assert_eq!(posted.status, 403, "{}", posted.body);
    assert!(providers(&admin, &root).await.is_empty());
}

#[tokio::test]
async fn admin_forms_refuse_cross_site_posts_foreign_tokens_and_bad_input() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let app = create_app(&admin, "Guarded app").await;
    let (agent, session) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let settings = agent.get("/console/settings").await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let csrf = form_input(&settings, "settings-form", "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("org", root.as_str()),
        ("session_timeout", "30"),
        ("domain", ""),
    ];
    let edit = agent
        .get(&format!("/console/apps/{}/edit", app.client_id))
        .await;
    let edit_csrf = form_input(&edit, "edit-app-form", "csrf").unwrap();
    let idp_form = agent.get("/console/idps/new?type=saml").await;
    let idp_csrf = form_input(&idp_form, "idp-form", "csrf").unwrap();
    let idp = [
        ("csrf", idp_csrf.as_str()),
        ("org", root.as_str()),
        ("type", "saml"),
        ("name", "Cross-site IdP"),
        ("issuer", "urn:idp"),
        ("certificates", "not a certificate"),
    ];
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        for (path, fields) in [
            ("/console/settings", &form[..]),
            ("/console/idps", &idp[..]),
        ] {
            let resp = post_by_hand(&server, path, &cookie, &headers, fields).await;
            assert_eq!(resp.status, 403, "{path} {headers:?}: {}", resp.body);
        }
    }
    let foreign = [
        ("csrf", edit_csrf.as_str()),
        ("org", root.as_str()),
        ("session_timeout", "30"),
    ];
    let wrong_form = agent.post_form("/console/settings", &foreign).await;
    assert_eq!(wrong_form.status, 403, "another form's token");
    let (_, other) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let other_cookie = format!("{SESSION_COOKIE}={other}");
    let edit_path = format!("/console/apps/{}/edit", app.client_id);
    let renamed = [
        ("csrf", edit_csrf.as_str()),
        ("name", "Hijacked"),
        ("grant_types", "client_credentials"),
        ("enabled", "true"),
    ];
    let stolen = post_by_hand(&server, &edit_path, &other_cookie, &[], &renamed).await;
    assert_eq!(stolen.status, 403, "another session's token");
    let org_path = format!("/accounts/api/organizations/{root}");
    assert_eq!(admin.get(&org_path).await.json()["sessionTimeout"], 60);
    let kept = admin
        .get(&format!(
            "/accounts/api/connectedApplications/{}",
            app.client_id
        ))
        .await;
    assert_eq!(kept.json()["client_name"], "Guarded app");

    // From the console itself: saved; a bad certificate is refused with the reason.
    let saved = agent.post_form("/console/settings", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(admin.get(&org_path).await.json()["sessionTimeout"], 30);
    let refused = agent.post_form("/console/idps", &idp).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.has_id("form-error") && refused.body.contains("public_key"));
    assert!(providers(&admin, &root).await.is_empty());
    let done = agent.post_form(&edit_path, &renamed).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let app_path = format!("/accounts/api/connectedApplications/{}", app.client_id);
    assert_eq!(admin.get(&app_path).await.json()["client_name"], "Hijacked");

    // The new pages carry the console's headers and no script.
    for path in [
        "/console/idps",
        "/console/idps/new",
        "/console/settings",
        edit_path.as_str(),
    ] {
        let page = agent.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{path}"
        );
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert!(!page.body.to_lowercase().contains("<script"), "{path}");
    }
}
