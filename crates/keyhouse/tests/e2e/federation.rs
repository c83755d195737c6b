//! Federated sign-in (docs/federation.md): a second Keyhouse is the upstream
//! OpenID Connect provider of the first one's root organization. A person
//! of the upstream signs in to the downstream through it (authorization code
//! with PKCE, nonce and state; the ID token checked against the upstream's
//! JWKS), is provisioned just in time, and ends with an API token of the
//! downstream.

use fantoccini::Locator;
use serde_json::json;

use crate::support::browser::{Browser, PAGE_TIMEOUT};
use crate::support::callback::{param, Callback};
use crate::support::federation::{
    create_provider, idp_link, query_param, Federation, CALLBACK_PATH,
};
use crate::support::pages::{Agent, Decision, Page};
use crate::support::user_apps::{
    authorize_url_pkce, create_user_app, create_user_app_in, exchange_code, Pkce, UserApp,
    AUTHORIZE_PATH,
};
use crate::support::ADMIN_PASSWORD;

/// Never contacted: the agent reads the redirect from the `Location` header.
const APP_REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Follows a "sign in with" link on D, signs in at U as `username` (or
/// answers `decision` on U's consent page) and returns D's answer to the
/// callback the upstream sent the browser to.
async fn through_upstream(
    fed: &Federation,
    downstream: &Agent,
    upstream: &Agent,
    start: &str,
    username: &str,
    decision: Decision,
) -> Page {
    let to_upstream = downstream.get(start).await;
    assert_eq!(to_upstream.status, 303, "start: {}", to_upstream.body);
    let upstream_url = to_upstream.location().expect("Location to the upstream");
    assert!(
        upstream_url
            .as_str()
            .starts_with(&format!("{}{AUTHORIZE_PATH}?", fed.upstream.base)),
        "{upstream_url}"
    );
    // Authorization code flow with state, nonce and PKCE S256, back to D's callback.
    assert_eq!(
        query_param(&upstream_url, "response_type").as_deref(),
        Some("code")
    );
    assert_eq!(
        query_param(&upstream_url, "client_id").as_deref(),
        Some(fed.upstream_app.client_id.as_str())
    );
    assert_eq!(
        query_param(&upstream_url, "redirect_uri"),
        Some(format!("{}{CALLBACK_PATH}", fed.downstream.base))
    );
    for name in ["state", "nonce", "code_challenge"] {
        assert!(
            query_param(&upstream_url, name).is_some_and(|v| v.len() >= 43),
            "{name} missing or short in {upstream_url}"
        );
    }
    assert_eq!(
        query_param(&upstream_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let scope = query_param(&upstream_url, "scope").unwrap_or_default();
    for wanted in ["openid", "profile", "email"] {
        assert!(scope.split(' ').any(|s| s == wanted), "{scope}");
    }
    let back = upstream
        .authorize_with(upstream_url.as_str(), username, ADMIN_PASSWORD, decision)
        .await;
    assert!(
        back.as_str()
            .starts_with(&format!("{}{CALLBACK_PATH}?", fed.downstream.base)),
        "{back}"
    );
    downstream.get(back.as_str()).await
}

/// D's sign-in page for `url` and its link for the federation's provider.
async fn provider_link(fed: &Federation, agent: &Agent, url: &str) -> String {
    let page = agent.get(url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    idp_link(&page, &fed.provider_id)
        .unwrap_or_else(|| panic!("no link for provider {}: {}", fed.provider_id, page.body))
}

/// Finishes an authorization at D once the browser holds a session: consent,
/// then the redirect to the app; exchanges the code. Returns the token answer.
async fn finish_at_downstream(
    fed: &Federation,
    agent: &Agent,
    resume: &str,
    app: &UserApp,
    pkce: &Pkce,
    state: &str,
) -> serde_json::Value {
    // No password is typed at D: a sign-in form here would fail the agent.
    let back = agent.authorize(resume, "nobody", "wrong-password").await;
    assert!(back.as_str().starts_with(&app.redirect_uri), "{back}");
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state),
        "{back}"
    );
    assert_eq!(query_param(&back, "error"), None, "{back}");
    let code = query_param(&back, "code").expect("code");
    let tokens = exchange_code(&fed.downstream.client(), app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    tokens.json()
}

#[tokio::test]
async fn a_federated_user_gets_an_api_token_without_a_browser() {
    let fed = Federation::start().await;
    fed.upstream_user("alice.fed").await;
    let app = create_user_app(&fed.downstream_admin, "Federated App", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(
        &fed.downstream.base,
        &app,
        "openid profile email",
        "state-1",
        "nonce-1",
        &pkce,
    );
    let (downstream, upstream) = (Agent::new(&fed.downstream), Agent::new(&fed.upstream));
    let start = provider_link(&fed, &downstream, &url).await;
    let landed = through_upstream(
        &fed,
        &downstream,
        &upstream,
        &start,
        "alice.fed",
        Decision::Allow,
    )
    .await;

    // Signed in at D: a session cookie, and back to the authorization request.
    assert_eq!(landed.status, 303, "{}", landed.body);
    let resume = landed.location().expect("Location");
    assert_eq!(resume.path(), AUTHORIZE_PATH);
    assert_eq!(
        query_param(&resume, "client_id").as_deref(),
        Some(app.client_id.as_str())
    );
    assert_eq!(query_param(&resume, "state").as_deref(), Some("state-1"));
    let cookies = landed.header_all("set-cookie");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("keyhouse_session="))
        .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
    let attrs = session.to_ascii_lowercase();
    assert!(
        attrs.contains("httponly") && attrs.contains("samesite=lax"),
        "{session}"
    );

    let tokens =
        finish_at_downstream(&fed, &downstream, resume.as_str(), &app, &pkce, "state-1").await;
    let access = tokens["access_token"].as_str().expect("access_token");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");

    // The API token speaks for the provisioned user of D's organization.
    let as_user = fed.downstream.client().with_token(access);
    let me = as_user.get("/accounts/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["user"]["username"], "alice.fed", "{me}");
    assert_eq!(me["user"]["firstName"], "Test", "{me}");
    assert_eq!(me["user"]["lastName"], "User", "{me}");
    assert_eq!(
        me["user"]["organization"]["id"],
        fed.downstream_org.as_str()
    );
    let user_id = me["user"]["id"].as_str().expect("user id").to_owned();

    // No Keyhouse password: the federated user cannot use the password login.
    let login = fed
        .downstream
        .client()
        .login("alice.fed", ADMIN_PASSWORD)
        .await;
    assert_eq!(login.status, 401, "{}", login.body);

    // Again, in a new D browser while still signed in at U: no page at U,
    // the same user (linked by the upstream's `sub`, not provisioned twice).
    let again = Agent::new(&fed.downstream);
    let pkce2 = Pkce::random();
    let url2 = authorize_url_pkce(
        &fed.downstream.base,
        &app,
        "openid profile",
        "state-2",
        "nonce-2",
        &pkce2,
    );
    let start2 = provider_link(&fed, &again, &url2).await;
    let landed2 = through_upstream(
        &fed,
        &again,
        &upstream,
        &start2,
        "alice.fed",
        Decision::Allow,
    )
    .await;
    assert_eq!(landed2.status, 303, "{}", landed2.body);
    let resume2 = landed2.location().expect("Location");
    let tokens2 =
        finish_at_downstream(&fed, &again, resume2.as_str(), &app, &pkce2, "state-2").await;
    let me2 = fed
        .downstream
        .client()
        .with_token(tokens2["access_token"].as_str().expect("access_token"))
        .get("/accounts/api/me")
        .await
        .json();
    assert_eq!(me2["user"]["id"], user_id.as_str(), "{me2}");
}

/// Waits until the browser is on a page under `prefix` (both servers' pages
/// share element ids, so an id alone does not tell that a navigation ended).
async fn wait_for_url(browser: &Browser, prefix: &str) {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        let url = browser.url().await;
        if url.starts_with(prefix) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the browser stayed at {url}, expected {prefix}…"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_federated_user_signs_in_in_chromium_and_gets_an_api_token() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let fed = Federation::start().await;
    fed.upstream_user("carol.fed").await;
    let callback = Callback::start().await;
    let app = create_user_app(
        &fed.downstream_admin,
        "Browser Federated App",
        &callback.url,
    )
    .await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(
        &fed.downstream.base,
        &app,
        "openid profile",
        "browser-state",
        "browser-nonce",
        &pkce,
    );

    // D's sign-in page offers the upstream; the person picks it.
    browser.goto(&url).await.unwrap();
    browser.wait_for_id("sign-in-form").await;
    let selector = format!("a.idp-login[data-provider-id='{}']", fed.provider_id);
    browser
        .wait_for(Locator::Css(&selector))
        .await
        .click()
        .await
        .unwrap();

    // U's own sign-in and consent pages (D's pages use the same element ids:
    // wait for the navigation before looking for them).
    wait_for_url(&browser, &fed.upstream.base).await;
    browser.wait_for_id("sign-in-form").await;
    browser.type_into("username", "carol.fed").await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click_id("sign-in").await;
    let upstream_app = browser.wait_for_id("app-name").await.text().await.unwrap();
    assert_eq!(upstream_app.trim(), fed.upstream_app.name);
    browser.click_id("allow").await;

    // Back at D, signed in: D's consent page for the app.
    wait_for_url(&browser, &fed.downstream.base).await;
    let name = browser.wait_for_id("app-name").await.text().await.unwrap();
    assert_eq!(name.trim(), app.name);
    browser.click_id("allow").await;

    // The app gets its code and exchanges it for an API token.
    let query = callback.wait_for(1).await;
    assert_eq!(param(&query, "state").as_deref(), Some("browser-state"));
    assert_eq!(param(&query, "error"), None, "{query}");
    let code = param(&query, "code").expect("code");
    let tokens = exchange_code(&fed.downstream.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let access = tokens.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let me = fed
        .downstream
        .client()
        .with_token(&access)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["username"], "carol.fed", "{}", me.body);
    browser.close().await;
}

/// The error page's title, asserting it is the error page.
fn error_title(page: &Page) -> String {
    assert!(
        page.has_id("error-title"),
        "not the error page: {}",
        page.body
    );
    assert_eq!(page.header("location"), None, "an error must not redirect");
    page.body.clone()
}

#[tokio::test]
async fn tampered_replayed_and_foreign_callbacks_are_refused() {
    let fed = Federation::start().await;
    fed.upstream_user("dave.fed").await;
    let app = create_user_app(&fed.downstream_admin, "State App", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&fed.downstream.base, &app, "openid", "s", "n", &pkce);
    let downstream = Agent::new(&fed.downstream);
    let upstream = Agent::new(&fed.upstream);

    // Unknown or missing state: the error page, nothing set.
    for query in ["code=abc&state=bogus", "code=abc", "state=a&state=b"] {
        let page = downstream.get(&format!("{CALLBACK_PATH}?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        error_title(&page);
        assert!(page
            .header_all("set-cookie")
            .iter()
            .all(|c| !c.starts_with("keyhouse_session=")));
    }
    // An unknown provider.
    let page = downstream
        .get("/accounts/login/oidc/00000000-0000-4000-8000-000000000000/start")
        .await;
    assert_eq!(page.status, 404, "{}", page.body);
    error_title(&page);

    // A callback delivered to another browser (login CSRF): refused, and
    // the state is spent.
    let start = provider_link(&fed, &downstream, &url).await;
    let to_upstream = downstream.get(&start).await;
    let upstream_url = to_upstream.location().expect("Location");
    let back = upstream
        .authorize(upstream_url.as_str(), "dave.fed", ADMIN_PASSWORD)
        .await;
    let other_browser = Agent::new(&fed.downstream);
    let page = other_browser.get(back.as_str()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    error_title(&page);
    let page = downstream.get(back.as_str()).await;
    assert_eq!(page.status, 400, "the state was spent: {}", page.body);

    // A good sign-in, then the same callback again (replay).
    let start = provider_link(&fed, &downstream, &url).await;
    let to_upstream = downstream.get(&start).await;
    let upstream_url = to_upstream.location().expect("Location");
    let back = upstream
        .authorize(upstream_url.as_str(), "dave.fed", ADMIN_PASSWORD)
        .await;
    let landed = downstream.get(back.as_str()).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    let replay = downstream.get(back.as_str()).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    error_title(&replay);

    // A tampered state (same length, one character changed), in a new
    // browser (the one above is signed in now).
    let downstream = Agent::new(&fed.downstream);
    let start = provider_link(&fed, &downstream, &url).await;
    let to_upstream = downstream.get(&start).await;
    let upstream_url = to_upstream.location().expect("Location");
    let back = upstream
        .authorize(upstream_url.as_str(), "dave.fed", ADMIN_PASSWORD)
        .await;
    let state = query_param(&back, "state").expect("state");
    let mut tampered: Vec<char> = state.chars().collect();
    tampered[0] = if tampered[0] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let code = query_param(&back, "code").expect("code");
    let forged = reqwest::Url::parse_with_params(
        &format!("{}{CALLBACK_PATH}", fed.downstream.base),
        &[("code", code.as_str()), ("state", tampered.as_str())],
    )
    .unwrap();
    let page = downstream.get(forged.as_str()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    error_title(&page);
}

#[tokio::test]
async fn an_upstream_refusal_is_an_error_page() {
    let fed = Federation::start().await;
    fed.upstream_user("erin.fed").await;
    let app = create_user_app(&fed.downstream_admin, "Refused App", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&fed.downstream.base, &app, "openid", "s", "n", &pkce);
    let downstream = Agent::new(&fed.downstream);
    let upstream = Agent::new(&fed.upstream);
    let start = provider_link(&fed, &downstream, &url).await;
    let page = through_upstream(
        &fed,
        &downstream,
        &upstream,
        &start,
        "erin.fed",
        Decision::Deny,
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let body = error_title(&page);
    assert!(body.contains("access_denied"), "{body}");
}

#[tokio::test]
async fn an_existing_local_user_is_not_taken_over() {
    let fed = Federation::start().await;
    // U's administrator is called "admin", like D's own administrator.
    let app = create_user_app(&fed.downstream_admin, "Takeover App", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&fed.downstream.base, &app, "openid", "s", "n", &pkce);
    let downstream = Agent::new(&fed.downstream);
    let upstream = Agent::new(&fed.upstream);
    let start = provider_link(&fed, &downstream, &url).await;
    let page = through_upstream(
        &fed,
        &downstream,
        &upstream,
        &start,
        "admin",
        Decision::Allow,
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.body);
    let body = error_title(&page);
    assert!(body.contains("already exists"), "{body}");
    assert!(page
        .header_all("set-cookie")
        .iter()
        .all(|c| !c.starts_with("keyhouse_session=")));
    // D's administrator is untouched and still signs in with their password.
    let login = fed.downstream.client().login("admin", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
}

#[tokio::test]
async fn a_provider_cannot_sign_users_into_another_orgs_internal_app() {
    let fed = Federation::start().await;
    fed.upstream_user("frank.fed").await;
    // Another tenant of D with an internal app: its sign-in page does not
    // offer the first tenant's provider.
    let other_admin = fed
        .downstream
        .second_tenant("Other Tenant", "other-admin")
        .await;
    let other_org = other_admin.root_org_id().await;
    let app = create_user_app_in(&other_admin, &other_org, "Internal App", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&fed.downstream.base, &app, "openid", "s-y", "n", &pkce);
    let downstream = Agent::new(&fed.downstream);
    let page = downstream.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(idp_link(&page, &fed.provider_id), None, "{}", page.body);

    // Starting through it anyway signs the person into the provider's own
    // organization, and the other tenant's internal app refuses them.
    let request = page.input("request");
    let start = reqwest::Url::parse_with_params(
        &format!(
            "{}/accounts/login/oidc/{}/start",
            fed.downstream.base, fed.provider_id
        ),
        &[("request", request.as_str())],
    )
    .unwrap();
    let upstream = Agent::new(&fed.upstream);
    let landed = through_upstream(
        &fed,
        &downstream,
        &upstream,
        start.as_str(),
        "frank.fed",
        Decision::Allow,
    )
    .await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    let resume = landed.location().expect("Location");
    let answer = downstream.get(resume.as_str()).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let back = answer.location().expect("Location to the app");
    assert!(back.as_str().starts_with(APP_REDIRECT), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&back, "code"), None);
    assert_eq!(query_param(&back, "state").as_deref(), Some("s-y"));
}

#[tokio::test]
async fn the_provider_api_hides_the_secret_and_needs_an_admin() {
    let fed = Federation::start().await;
    let admin = &fed.downstream_admin;
    let org = &fed.downstream_org;
    let base = format!("/accounts/api/organizations/{org}/identityProviders");
    let secret = fed.upstream_app.secret.clone();

    // Read back: Anypoint's shape, the callback to register, never the secret.
    let one = admin.get(&format!("{base}/{}", fed.provider_id)).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(!one.body.contains(&secret), "secret leaked: {}", one.body);
    let json = one.json();
    assert_eq!(json["provider_id"], fed.provider_id.as_str());
    assert_eq!(json["org_id"], org.as_str());
    assert_eq!(json["type"]["name"], "openid");
    assert_eq!(json["oidc_provider"]["issuer"], fed.upstream.base.as_str());
    assert_eq!(
        json["oidc_provider"]["client"]["credentials"]["id"],
        fed.upstream_app.client_id.as_str()
    );
    assert_eq!(
        json["oidc_provider"]["client"]["credentials"].get("secret"),
        None
    );
    assert_eq!(
        json["oidc_provider"]["urls"]["redirect"],
        format!("{}{CALLBACK_PATH}", fed.downstream.base)
    );
    assert_eq!(
        json["oidc_provider"]["claims_mapping"]["username_attribute"],
        "preferred_username"
    );
    let list = admin.get(&base).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(!list.body.contains(&secret));
    assert_eq!(list.json()["total"], 1);
    assert_eq!(
        list.json()["data"][0]["provider_id"],
        fed.provider_id.as_str()
    );

    // Update: a new secret is accepted and not echoed; other fields change.
    let patched = admin
        .patch(
            &format!("{base}/{}", fed.provider_id),
            json!({"name": "Renamed SSO",
                   "oidc_provider": {"client": {"credentials": {"secret": "another-secret-value"}},
                                     "claims_mapping": {"username_attribute": "email"}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(!patched.body.contains("another-secret-value"));
    assert_eq!(patched.json()["name"], "Renamed SSO");
    assert_eq!(
        patched.json()["oidc_provider"]["claims_mapping"]["username_attribute"],
        "email"
    );

    // Validation: plain http only on loopback, credentials required, no SAML yet.
    let bad_issuer = create_provider(
        admin,
        org,
        "Plain HTTP",
        "http://idp.example.com",
        &fed.upstream_app,
    )
    .await;
    assert_eq!(bad_issuer.0, 400, "{}", bad_issuer.1);
    let no_secret = admin
        .post(
            &base,
            json!({"name": "No secret", "type": {"name": "openid"},
                   "oidc_provider": {"issuer": "https://idp.example.com",
                                     "client": {"credentials": {"id": "x"}}}}),
        )
        .await;
    no_secret.assert_error(400);
    let saml = admin
        .post(&base, json!({"name": "SAML", "type": {"name": "saml"}}))
        .await;
    saml.assert_error(400);
    let duplicate = create_provider(
        admin,
        org,
        "renamed sso",
        "https://idp.example.com",
        &fed.upstream_app,
    )
    .await;
    assert_eq!(duplicate.0, 409, "{}", duplicate.1);

    // Unknown ids are 404.
    let missing = admin
        .get(&format!("{base}/00000000-0000-4000-8000-000000000000"))
        .await;
    missing.assert_error(404);
    let malformed = admin.get(&format!("{base}/not-an-id")).await;
    assert_eq!(malformed.status, 404, "{}", malformed.body);

    // A member may neither see nor manage providers; another tenant's admin
    // cannot reach them.
    let member = fed.downstream.user_in(org, "plain.member", false).await;
    member.get(&base).await.assert_error(403);
    let by_member = create_provider(
        &member,
        org,
        "Member's",
        "https://idp.example.com",
        &fed.upstream_app,
    )
    .await;
    assert_eq!(by_member.0, 403, "{}", by_member.1);
    member
        .delete(&format!("{base}/{}", fed.provider_id))
        .await
        .assert_error(403);
    let stranger = fed
        .downstream
        .second_tenant("Stranger Org", "stranger")
        .await;
    stranger
        .get(&format!("{base}/{}", fed.provider_id))
        .await
        .assert_error(403);

    // Delete: 204, then gone, and the sign-in page no longer offers it.
    let deleted = admin.delete(&format!("{base}/{}", fed.provider_id)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    admin
        .get(&format!("{base}/{}", fed.provider_id))
        .await
        .assert_error(404);
    let app = create_user_app(admin, "After Delete", APP_REDIRECT).await;
    let pkce = Pkce::random();
    let url = authorize_url_pkce(&fed.downstream.base, &app, "openid", "s", "n", &pkce);
    let page = Agent::new(&fed.downstream).get(&url).await;
    assert_eq!(idp_link(&page, &fed.provider_id), None);
}

#[tokio::test]
async fn the_login_domain_page_offers_the_providers() {
    let fed = Federation::start().await;
    fed.upstream_user("grace.fed").await;
    let org = &fed.downstream_org;
    let set = fed
        .downstream_admin
        .put(
            &format!("/accounts/api/organizations/{org}"),
            json!({"domain": "Acme-Corp"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["domain"], "acme-corp");
    let unknown = Agent::new(&fed.downstream)
        .get("/accounts/login/no-such-domain")
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    let downstream = Agent::new(&fed.downstream);
    let page = downstream.get("/accounts/login/acme-corp").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-org"), "{}", page.body);
    let start = idp_link(&page, &fed.provider_id).expect("provider link");
    let upstream = Agent::new(&fed.upstream);
    let landed = through_upstream(
        &fed,
        &downstream,
        &upstream,
        &start,
        "grace.fed",
        Decision::Allow,
    )
    .await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(
        landed.location().expect("Location").path(),
        "/accounts/authorizations"
    );
    let home = downstream.get("/accounts/authorizations").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("grace.fed"), "{}", home.body);

    // Clearing the domain takes the page away.
    let cleared = fed
        .downstream_admin
        .put(
            &format!("/accounts/api/organizations/{org}"),
            json!({"domain": null}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let gone = Agent::new(&fed.downstream)
        .get("/accounts/login/acme-corp")
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}

#[tokio::test]
async fn the_cli_adds_a_provider() {
    let fed = Federation::start().await;
    let out = fed.downstream.admin_command(&[
        "add-oidc-provider",
        "--org",
        &fed.downstream_org,
        "--name",
        "CLI SSO",
        "--issuer",
        &fed.upstream.base,
        "--client-id",
        &fed.upstream_app.client_id,
        "--client-secret",
        &fed.upstream_app.secret,
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("identity provider"), "{stdout}");
    assert!(stdout.contains(CALLBACK_PATH), "{stdout}");
    assert!(!stdout.contains(&fed.upstream_app.secret), "{stdout}");
    let list = fed
        .downstream_admin
        .get(&format!(
            "/accounts/api/organizations/{}/identityProviders",
            fed.downstream_org
        ))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<String> = list.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "CLI SSO"), "{names:?}");
}
