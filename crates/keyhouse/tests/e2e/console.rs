//! The web console (docs/console.md): connected apps, their scopes, business
//! groups and the audit log, in a real headless Chromium (skipped without a
//! browser unless `KEYHOUSE_REQUIRE_BROWSER=1`), and its form protections
//! and permission checks over plain HTTP.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::support::apps::{cc_body, create_app, token_form};
use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::console::{
    browser_sign_in, count, form_input, pick, screenshot, signed_in_agent, submit_and_wait,
    text_of, CONSOLE, SESSION_COOKIE, SIGN_IN,
};
use crate::support::grants::{password_app, password_grant, post_by_hand};
use crate::support::user_apps::ADMIN_USERNAME;
use crate::support::{Client, TestServer, ADMIN_PASSWORD};

/// Creates a business group under the root; returns its id and its Sandbox
/// environment's id.
async fn business_group(admin: &Client, name: &str) -> (String, String) {
    let root = admin.root_org_id().await;
    let resp = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": name, "parentOrganizationId": root}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let org = resp.json();
    let sandbox = org["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Sandbox")
        .expect("a Sandbox environment")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (org["id"].as_str().unwrap().to_owned(), sandbox)
}

async fn app_scopes(admin: &Client, client_id: &str) -> Vec<Value> {
    let resp = admin
        .get(&format!(
            "/accounts/api/connectedApplications/{client_id}/scopes"
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["data"].as_array().unwrap().clone()
}

/// Waits until no element matches `css` (the page after a post replaced it).
async fn wait_gone(browser: &Browser, css: &str) {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    while count(browser, css).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "{css} stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn secret_on_page(browser: &Browser) -> String {
    browser
        .wait_for_id("client-secret")
        .await
        .attr("value")
        .await
        .unwrap()
        .expect("the secret's value")
}

#[tokio::test]
async fn an_admin_creates_scopes_resets_and_deletes_an_app_in_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.set_window_size(1200, 1100).await.unwrap();
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (bg, sandbox) = business_group(&admin, "Payments").await;
    create_app(&admin, "Nightly deploy bot").await;

    // Not signed in: the sign-in form, then back to the console.
    browser_sign_in(&browser, &server, ADMIN_USERNAME, CONSOLE).await;
    assert!(
        browser.url().await.ends_with(CONSOLE),
        "{}",
        browser.url().await
    );
    assert_eq!(text_of(&browser, "user-name").await, ADMIN_USERNAME);
    assert_eq!(count(&browser, "tr.app").await, 1);

    // Create an app acting on its own behalf: its page shows the secret once.
    browser.click_id("new-app").await;
    browser.type_into("name", "Console CI app").await;
    submit_and_wait(&browser, "create-app", "secret-box").await;
    let client_id = text_of(&browser, "client-id").await;
    let secret = secret_on_page(&browser).await;
    assert_eq!(text_of(&browser, "app-name").await, "Console CI app");
    let token = token_form(&server.client(), &cc_body(&client_id, &secret)).await;
    assert_eq!(token.status, 200, "the shown secret works: {}", token.body);
    // The Copy button appears (its script ran under the page's CSP) and
    // answers a click (clipboard granted: "Copied"; refused: select + hint).
    let copy = browser.wait_for_id("copy-secret").await;
    assert!(
        copy.is_displayed().await.unwrap(),
        "the Copy button is hidden"
    );
    assert_eq!(copy.text().await.unwrap().trim(), "Copy");
    copy.click().await.unwrap();
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        let label = copy.text().await.unwrap();
        if label == "Copied" || label == "Press Ctrl+C" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Copy button did nothing: {label}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.refresh().await.unwrap();
    browser.wait_for_id("app-name").await;
    assert_eq!(
        count(&browser, "#secret-box").await,
        0,
        "shown again on reload"
    );

    // The list, searched by name and by client id.
    browser
        .goto(&format!("{}{CONSOLE}", server.base))
        .await
        .unwrap();
    browser.wait_for_id("apps").await;
    assert_eq!(count(&browser, "tr.app").await, 2);
    screenshot(&browser, "console-apps").await;
    browser.type_into("search", "console ci").await;
    submit_and_wait(&browser, "search-submit", "apps").await;
    assert_eq!(count(&browser, "tr.app").await, 1);
    let row = format!("tr.app[data-client-id='{client_id}']");
    assert_eq!(count(&browser, &row).await, 1);
    browser
        .goto(&format!("{}{CONSOLE}?q={client_id}", server.base))
        .await
        .unwrap();
    browser.wait_for(Locator::Css(&row)).await;
    browser
        .goto(&format!("{}{CONSOLE}?q=no-such-app", server.base))
        .await
        .unwrap();
    browser.wait_for_id("no-apps").await;

    // Scopes: one environment scope in the business group, picked from the
    // business-group and environment selects; one organization scope.
    browser
        .goto(&format!("{}/console/apps/{client_id}", server.base))
        .await
        .unwrap();
    browser.wait_for_id("no-scopes").await;
    pick(&browser, "scope-choice", "view:environment").await;
    pick(&browser, "scope-org", &bg).await;
    pick(&browser, "scope-env", &sandbox).await;
    submit_and_wait(&browser, "add-scope", "scope-table").await;
    let env_row = format!("tr.scope-row[data-scope='view:environment'][data-env='{sandbox}']");
    browser.wait_for(Locator::Css(&env_row)).await;
    let cells = browser
        .find(Locator::Css(&format!("{env_row} td.scope-org")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(cells.trim(), "Payments");
    pick(&browser, "scope-choice", "read:orgenvironments").await;
    pick(&browser, "scope-org", &bg).await;
    browser.click_id("add-scope").await;
    browser
        .wait_for(Locator::Css(
            "tr.scope-row[data-scope='read:orgenvironments']",
        ))
        .await;
    let held = app_scopes(&admin, &client_id).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.iter().any(|s| s["scope"] == "view:environment"
        && s["context_params"]["org"] == bg.as_str()
        && s["context_params"]["envId"] == sandbox.as_str()));
    screenshot(&browser, "console-scopes").await;

    // A scope given the wrong context is refused with the reason on the page.
    pick(&browser, "scope-choice", "view:environment").await;
    pick(&browser, "scope-env", "").await;
    submit_and_wait(&browser, "add-scope", "form-error").await;
    assert!(text_of(&browser, "form-error").await.contains("envId"));

    // Remove one.
    browser
        .goto(&format!("{}/console/apps/{client_id}", server.base))
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!("{env_row} button.remove-scope")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_gone(&browser, &env_row).await;
    browser.wait_for_id("scope-table").await;
    assert_eq!(app_scopes(&admin, &client_id).await.len(), 1);

    // Reset the secret: the new one is shown once, the old one is dead.
    submit_and_wait(&browser, "reset-secret", "secret-box").await;
    let new_secret = secret_on_page(&browser).await;
    assert_ne!(new_secret, secret);
    let old = token_form(&server.client(), &cc_body(&client_id, &secret)).await;
    assert_eq!(old.status, 401, "{}", old.body);
    let new = token_form(&server.client(), &cc_body(&client_id, &new_secret)).await;
    assert_eq!(new.status, 200, "{}", new.body);
    browser.refresh().await.unwrap();
    browser.wait_for_id("app-name").await;
    assert_eq!(count(&browser, "#secret-box").await, 0);

    // Delete, after a confirmation step.
    browser.click_id("delete-app").await;
    assert_eq!(text_of(&browser, "app-name").await, "Console CI app");
    submit_and_wait(&browser, "confirm-delete", "deleted-notice").await;
    assert_eq!(count(&browser, &row).await, 0);
    assert_eq!(count(&browser, "tr.app").await, 1);
    admin
        .get(&format!("/accounts/api/connectedApplications/{client_id}"))
        .await
        .assert_error(404);
    browser.close().await;
}

#[tokio::test]
async fn the_audit_page_charts_token_issuance_and_failures() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.set_window_size(1200, 1100).await.unwrap();
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = password_app(&admin).await;
    let client = server.client();
    for _ in 0..3 {
        let issued = password_grant(&client, &app, ADMIN_USERNAME, ADMIN_PASSWORD, None).await;
        assert_eq!(issued.status, 200, "{}", issued.body);
    }
    let refused = client.login(ADMIN_USERNAME, "wrong-password").await;
    assert_eq!(refused.status, 401, "{}", refused.body);

    browser_sign_in(&browser, &server, ADMIN_USERNAME, "/console/audit").await;
    browser.wait_for_id("audit-chart").await;
    assert_eq!(text_of(&browser, "issued-total").await, "3");
    assert_eq!(text_of(&browser, "failed-total").await, "1");
    assert!(count(&browser, "#audit-chart rect.bar-issued").await >= 1);
    assert_eq!(count(&browser, "#audit-chart rect.bar-failed").await, 1);
    assert!(count(&browser, "tr.audit-event[data-action='token.issued']").await >= 3);
    screenshot(&browser, "console-audit").await;

    // Filter by action.
    browser.type_into("action", "token.issued").await;
    browser.click_id("apply-filters").await;
    wait_gone(
        &browser,
        "tr.audit-event[data-action='connected_app.created']",
    )
    .await;
    assert_eq!(count(&browser, "tr.audit-event").await, 3);
    assert_eq!(
        text_of(&browser, "event-count").await.split(' ').next(),
        Some("3")
    );

    // The app's page lists the same issuances as its recent use.
    browser
        .goto(&format!("{}/console/apps/{}", server.base, app.client_id))
        .await
        .unwrap();
    browser.wait_for_id("usage-table").await;
    assert_eq!(count(&browser, "tr.usage-row").await, 3);
    browser.close().await;
}

#[tokio::test]
async fn a_member_is_refused_and_keeps_their_own_pages() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "member", false).await;
    browser_sign_in(&browser, &server, "member", CONSOLE).await;
    assert!(text_of(&browser, "error-title")
        .await
        .contains("permission"));
    assert!(text_of(&browser, "error-message")
        .await
        .contains("administrators"));
    browser.click_id("nav-authorizations").await;
    browser.wait_for_id("mfa-settings").await;
    assert!(browser.url().await.ends_with("/accounts/authorizations"));
    browser.close().await;
}

#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for_and_nowhere_else() {
    let server = TestServer::start().await;
    let (agent, _) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let page = agent.get("/console/orgs").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("org-tree"));

    let fresh = crate::support::pages::Agent::new(&server);
    let away = fresh.get("/console/apps/abc?x=1").await;
    assert_eq!(away.status, 303);
    let target = away.location().unwrap();
    assert_eq!(target.path(), SIGN_IN);
    let form = fresh.get(target.as_str()).await;
    assert_eq!(form.input("next"), "/console/apps/abc?x=1");
    let evil = fresh
        .get(&format!(
            "{SIGN_IN}?next=https%3A%2F%2Fevil.example%2Fconsole"
        ))
        .await;
    assert_eq!(evil.input("next"), CONSOLE);
    let wrong = fresh
        .post_form(
            SIGN_IN,
            &[
                ("username", ADMIN_USERNAME),
                ("password", "wrong"),
                ("csrf", &form.input("csrf")),
                ("next", CONSOLE),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.has_id("sign-in-error"));
}

#[tokio::test]
async fn console_pages_carry_the_security_headers_and_no_script() {
    let server = TestServer::start().await;
    let (agent, _) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let signed_out = crate::support::pages::Agent::new(&server);
    for path in [
        CONSOLE,
        "/console/apps/new",
        "/console/orgs",
        "/console/audit",
        SIGN_IN,
    ] {
        let page = if path == SIGN_IN {
            signed_out.get(path).await
        } else {
            agent.get(path).await
        };
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("form-action 'self'"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "{path}: {csp}");
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            page.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
        assert!(!page.body.to_lowercase().contains("<script"), "{path}");
    }
}

#[tokio::test]
async fn console_forms_refuse_cross_site_posts_and_foreign_tokens() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let app = create_app(&admin, "Guarded app").await;
    let (agent, session) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let detail = agent.get(&format!("/console/apps/{}", app.client_id)).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let csrf = form_input(&detail, "add-scope-form", "csrf").expect("add-scope token");
    let add = format!("/console/apps/{}/scopes/add", app.client_id);
    let form = [
        ("csrf", csrf.as_str()),
        ("scope", "read:orgenvironments"),
        ("org", org.as_str()),
        ("env", ""),
    ];
    let cookie = format!("{SESSION_COOKIE}={session}");
    for (what, headers) in [
        ("another origin", vec![("origin", "https://evil.example")]),
        ("cross-site fetch", vec![("sec-fetch-site", "cross-site")]),
        ("same-site fetch", vec![("sec-fetch-site", "same-site")]),
    ] {
        let resp = post_by_hand(&server, &add, &cookie, &headers, &form).await;
        assert_eq!(resp.status, 403, "{what}: {}", resp.body);
        assert!(resp.body.contains("error-title"), "{what}");
    }
    let no_cookie = post_by_hand(&server, &add, "", &[], &form).await;
    assert_eq!(no_cookie.status, 403);
    let (_, other_session) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let foreign = post_by_hand(
        &server,
        &add,
        &format!("{SESSION_COOKIE}={other_session}"),
        &[],
        &form,
    )
    .await;
    assert_eq!(foreign.status, 403, "a token from another session");
    let delete = format!("/console/apps/{}/delete", app.client_id);
    let other_form = agent.post_form(&delete, &[("csrf", csrf.as_str())]).await;
    assert_eq!(other_form.status, 403, "a token for another form");
    assert!(app_scopes(&admin, &app.client_id).await.is_empty());
    let kept = admin
        .get(&format!(
            "/accounts/api/connectedApplications/{}",
            app.client_id
        ))
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);

    // The same form from the console itself goes through.
    let done = agent.post_form(&add, &form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app_scopes(&admin, &app.client_id).await.len(), 1);
}

#[tokio::test]
async fn a_member_is_refused_by_the_core_not_only_by_the_pages() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let app = create_app(&admin, "Admin's app").await;
    server.user_in(&org, "member", false).await;
    let (agent, _) = signed_in_agent(&server, "member").await;
    for path in [
        CONSOLE.to_owned(),
        "/console/audit".to_owned(),
        format!("/console/apps/{}", app.client_id),
    ] {
        let page = agent.get(&path).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(page.has_id("error-title") && page.has_id("nav-authorizations"));
    }
    // A well-formed post with the member's own valid token: the service refuses.
    let form = agent.get("/console/apps/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form_input(&form, "new-app-form", "csrf").unwrap();
    let created = agent
        .post_form(
            "/console/apps",
            &[
                ("csrf", csrf.as_str()),
                ("org", org.as_str()),
                ("name", "Member's app"),
                ("behalf", "own"),
            ],
        )
        .await;
    assert_eq!(created.status, 403, "{}", created.body);
    let listed = admin
        .get("/accounts/api/connectedApplications")
        .await
        .json();
    assert_eq!(listed["total"], 1, "{listed}");
}

#[tokio::test]
async fn a_new_secret_is_shown_on_the_next_page_only() {
    let server = TestServer::start().await;
    let (agent, _) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let form = agent.get("/console/apps/new").await;
    let csrf = form_input(&form, "new-app-form", "csrf").unwrap();
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let created = agent
        .post_form(
            "/console/apps",
            &[
                ("csrf", csrf.as_str()),
                ("org", root.as_str()),
                ("name", "Shown once"),
                ("behalf", "own"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let detail = created.location().unwrap();
    let first = agent.get(detail.as_str()).await;
    assert!(first.has_id("client-secret"), "{}", first.body);
    // Only this page may run a script, and only the copy button's own file.
    let csp = first.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline'; script") && !csp.contains("script-src 'self' 'unsafe"));
    let scripts: Vec<_> = crate::support::pages::tags(&first.body)
        .into_iter()
        .filter(|t| t.name == "script")
        .collect();
    assert_eq!(scripts.len(), 1, "{}", first.body);
    assert_eq!(scripts[0].attr("src"), Some("/console/copy.js"));
    let script = agent.get("/console/copy.js").await;
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/javascript"));
    assert!(script.body.contains("navigator.clipboard"));
    let again = agent.get(detail.as_str()).await;
    assert_eq!(again.status, 200);
    assert!(!again.has_id("client-secret"), "shown twice");
    assert!(!again.has_id("secret-box"));
    let csp = again.header("content-security-policy").unwrap_or_default();
    assert!(
        !csp.contains("script-src"),
        "no script without a secret: {csp}"
    );
}

#[tokio::test]
async fn business_groups_and_environments_are_created_from_the_console() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let root = admin.root_org_id().await;
    let (agent, _) = signed_in_agent(&server, ADMIN_USERNAME).await;
    let tree = agent.get("/console/orgs").await;
    let csrf = form_input(&tree, "new-group-form", "csrf").unwrap();
    let made = agent
        .post_form(
            "/console/orgs",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Retail"),
                ("parent", root.as_str()),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let tree = agent.get("/console/orgs").await;
    assert!(tree.body.contains(">Retail</strong>"), "{}", tree.body);

    let envs_path = format!("/console/orgs/{root}/environments");
    let envs = agent.get(&envs_path).await;
    assert_eq!(envs.status, 200, "{}", envs.body);
    let csrf = form_input(&envs, "new-env-form", "csrf").unwrap();
    let made = agent
        .post_form(
            &envs_path,
            &[("csrf", csrf.as_str()), ("name", "QA"), ("type", "sandbox")],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let listed = admin
        .get(&format!("/accounts/api/organizations/{root}/environments"))
        .await
        .json();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "QA"),
        "{listed}"
    );
    // A name that breaks a rule is refused on the page, with the reason.
    let blank = agent
        .post_form(
            &envs_path,
            &[("csrf", csrf.as_str()), ("name", "  "), ("type", "sandbox")],
        )
        .await;
    assert_eq!(blank.status, 400, "{}", blank.body);
    assert!(blank.has_id("form-error"), "{}", blank.body);

    // A member may look but not create.
    server.user_in(&root, "member", false).await;
    let (member, _) = signed_in_agent(&server, "member").await;
    let page = member.get(&envs_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = form_input(&page, "new-env-form", "csrf").unwrap();
    let refused = member
        .post_form(
            &envs_path,
            &[
                ("csrf", csrf.as_str()),
                ("name", "Members"),
                ("type", "sandbox"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}
