//! The authorization code flow as a person goes through it, in a real headless
//! Chromium (docs/user-grants.md, "The pages"): sign in, consent, back to the
//! app; then the remembered consent, and Deny. Skipped when no browser is
//! installed unless `KEYHOUSE_REQUIRE_BROWSER=1` (scripts/test.sh sets it).

use fantoccini::Locator;

use crate::support::browser::Browser;
use crate::support::callback::{param, params, Callback};
use crate::support::pages::Agent;
use crate::support::user_apps::{
    authorize_url_pkce, create_user_app, exchange_code, Pkce, ADMIN_USERNAME,
};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// A `state` that needs escaping in a URL, in a form field and in HTML.
const TRICKY_STATE: &str = "st ate&x=1/+?#%25 é\"'<b>";

/// Signs in on the sign-in page shown in `browser`.
async fn sign_in(browser: &Browser) {
    browser.wait_for_id("sign-in-form").await;
    browser.type_into("username", ADMIN_USERNAME).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click_id("sign-in").await;
}

/// The `data-scope` of every `li.scope` on the page, sorted.
async fn listed_scopes(browser: &Browser) -> Vec<String> {
    let mut scopes = Vec::new();
    for item in browser.find_all(Locator::Css("li.scope")).await.unwrap() {
        let scope = item
            .attr("data-scope")
            .await
            .unwrap()
            .expect("li.scope without data-scope");
        scopes.push(scope);
    }
    scopes.sort();
    scopes
}

#[tokio::test]
async fn the_browser_harness_reaches_a_loopback_callback() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let callback = Callback::start().await;
    browser
        .goto(&format!("{}?code=abc&state=s%20t", callback.url))
        .await
        .unwrap();
    let query = callback.wait_for(1).await;
    assert_eq!(param(&query, "state").as_deref(), Some("s t"));
    browser.wait_for_id("callback").await;
    assert!(browser.url().await.starts_with(&callback.url));
    browser.close().await;
}

#[tokio::test]
async fn a_person_signs_in_allows_and_the_consent_is_remembered() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let callback = Callback::start().await;
    let app = create_user_app(&admin, "Browser Flow App", &callback.url).await;

    // 1. The authorization request: the sign-in page, then the consent page.
    let pkce = Pkce::random();
    let url = authorize_url_pkce(
        &server.base,
        &app,
        "openid profile offline_access",
        TRICKY_STATE,
        "nonce-1",
        &pkce,
    );
    browser.goto(&url).await.unwrap();
    sign_in(&browser).await;
    let name = browser.wait_for_id("app-name").await.text().await.unwrap();
    assert_eq!(name.trim(), app.name);
    assert_eq!(
        listed_scopes(&browser).await,
        ["offline_access", "openid", "profile"]
    );
    browser.wait_for_id("consent-form").await;
    browser.click_id("allow").await;

    // 2. Back at the app with a code, the exact state and the issuer (RFC 9207).
    let query = callback.wait_for(1).await;
    let got = params(&query);
    assert_eq!(
        param(&query, "state").as_deref(),
        Some(TRICKY_STATE),
        "{got:?}"
    );
    assert_eq!(
        param(&query, "iss").as_deref(),
        Some(server.base.as_str()),
        "{got:?}"
    );
    assert_eq!(param(&query, "error"), None, "{got:?}");
    let code = param(&query, "code").expect("code");
    browser.wait_for_id("callback").await;

    // 3. The app exchanges the code.
    let client = server.client();
    let tokens = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let json = tokens.json();
    for field in ["access_token", "refresh_token", "id_token"] {
        assert!(
            json[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field} missing: {}",
            tokens.body
        );
    }
    assert_eq!(tokens.header("cache-control").as_deref(), Some("no-store"));

    // 4. Same browser, same app and scopes: the session and the remembered
    // consent send it straight back to the app, no page shown.
    let pkce2 = Pkce::random();
    let state2 = "second/attempt";
    let url2 = authorize_url_pkce(
        &server.base,
        &app,
        "openid profile offline_access",
        state2,
        "nonce-2",
        &pkce2,
    );
    browser.goto(&url2).await.unwrap();
    let query2 = callback.wait_for(2).await;
    assert_eq!(param(&query2, "state").as_deref(), Some(state2));
    assert_eq!(param(&query2, "iss").as_deref(), Some(server.base.as_str()));
    let code2 = param(&query2, "code").expect("second code");
    assert_ne!(code2, code);
    assert!(
        browser.url().await.starts_with(&callback.url),
        "the browser stopped at {}",
        browser.url().await
    );
    let tokens2 = exchange_code(&client, &app, &code2, &pkce2.verifier).await;
    assert_eq!(tokens2.status, 200, "{}", tokens2.body);
    assert_eq!(callback.received().len(), 2);
    browser.close().await;
}

#[tokio::test]
async fn deny_sends_access_denied_back_to_the_app() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let callback = Callback::start().await;
    let app = create_user_app(&admin, "Denied App", &callback.url).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(
        &server.base,
        &app,
        "openid profile",
        TRICKY_STATE,
        "nonce-d",
        &pkce,
    );
    browser.goto(&url).await.unwrap();
    sign_in(&browser).await;
    let name = browser.wait_for_id("app-name").await.text().await.unwrap();
    assert_eq!(name.trim(), app.name);
    browser.click_id("deny").await;

    let query = callback.wait_for(1).await;
    let got = params(&query);
    assert_eq!(
        param(&query, "error").as_deref(),
        Some("access_denied"),
        "{got:?}"
    );
    assert_eq!(
        param(&query, "state").as_deref(),
        Some(TRICKY_STATE),
        "{got:?}"
    );
    assert_eq!(
        param(&query, "iss").as_deref(),
        Some(server.base.as_str()),
        "{got:?}"
    );
    assert_eq!(param(&query, "code"), None, "{got:?}");
    browser.close().await;
}

#[tokio::test]
async fn the_sign_in_page_forbids_framing_referrers_and_caching() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Headers App", "http://127.0.0.1:9/callback").await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&server.base, &app, "openid", "s", "n", &pkce);
    let page = Agent::new(&server).get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    assert!(page.has_id("username") && page.has_id("password") && page.has_id("sign-in"));
    assert!(!page.input("csrf").is_empty());
    assert!(!page.input("request").is_empty());
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    let csp = page
        .header("content-security-policy")
        .expect("Content-Security-Policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    // The double-submit CSRF cookie: HttpOnly, SameSite=Lax, Path=/ (no Secure over http).
    let cookies = page.header_all("set-cookie");
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("keyhouse_csrf="))
        .unwrap_or_else(|| panic!("no keyhouse_csrf cookie in {cookies:?}"));
    let attrs: Vec<String> = csrf
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for want in ["httponly", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|a| a == want), "{want} missing: {csrf}");
    }
}
