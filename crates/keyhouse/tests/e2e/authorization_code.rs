//! The authorization code grant over HTTP (docs/user-grants.md): the pages
//! driven without a browser, the code exchange, and the ways both must fail.

use std::collections::BTreeSet;

use reqwest::Url;
use serde_json::json;

use crate::support::apps::create_app;
use crate::support::grants::{
    answer_consent, assert_alive, assert_dead, assert_error_page, assert_error_redirect,
    assert_page_headers, assert_token_error, audit_actions, code_for, code_tokens, code_tokens_as,
    code_url, code_via, create_app_with, field, listed_scopes, post_by_hand, query_param, refresh,
    set_cookie, sign_in, CALLBACK,
};
use crate::support::pages::{Agent, Decision, CONSENT_PATH, LOGIN_PATH};
use crate::support::user_apps::{
    authorize_url, create_user_app, exchange_code, token_request, user_id, Pkce, ADMIN_USERNAME,
    AUTHORIZE_PATH,
};
use crate::support::{TestServer, ADMIN_PASSWORD};

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split(' ').map(str::to_owned).collect()
}

#[tokio::test]
async fn the_code_flow_with_pkce_issues_tokens_that_speak_for_the_user() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Code App", CALLBACK).await;
    let agent = Agent::new(&server);
    let pkce = Pkce::random();
    let url = code_url(&server, &app, "openid profile offline_access", &pkce);
    let back = agent.authorize(&url, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(back.as_str().starts_with(&format!("{CALLBACK}?")), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("state-1"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(server.base.as_str())
    );
    let code = query_param(&back, "code").expect("code");

    let resp = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    let json = resp.json();
    assert_eq!(json["token_type"], "bearer", "{json}");
    assert_eq!(json["expires_in"], 3600, "{json}");
    assert_eq!(
        scope_set(&field(&json, "scope")),
        scope_set("openid profile offline_access")
    );
    let access = field(&json, "access_token");
    assert!(!field(&json, "refresh_token").is_empty());
    assert_eq!(field(&json, "id_token").split('.').count(), 3, "{json}");
    let me = server
        .client()
        .with_token(&access)
        .get("/accounts/api/users/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["id"], user_id(&admin).await);

    // Fewer scopes, same browser: the remembered consent covers them. Without
    // offline_access there is no refresh token, without openid no ID token.
    let (code, pkce) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let resp = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let json = resp.json();
    assert_eq!(json["scope"], "profile", "{json}");
    assert!(json.get("refresh_token").is_none(), "{json}");
    assert!(json.get("id_token").is_none(), "{json}");
    assert_alive(&server, &field(&json, "access_token"), "the profile token").await;
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_kills_what_its_first_use_issued() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Replayed", CALLBACK).await;
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(
        &server,
        &agent,
        &app,
        "openid profile offline_access",
        ADMIN_USERNAME,
    )
    .await;
    let client = server.client();
    let first = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    let access = field(&first, "access_token");
    assert_alive(&server, &access, "the first access token").await;

    let second = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_token_error(&second, 400, "invalid_grant");
    assert_dead(&server, &access, "the access token of the replayed code").await;
    let refreshed = refresh(&client, &app, &field(&first, "refresh_token"), None).await;
    assert_token_error(&refreshed, 400, "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_also_kills_the_tokens_rotated_from_its_first_use() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Replayed Later", CALLBACK).await;
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(
        &server,
        &agent,
        &app,
        "openid profile offline_access",
        ADMIN_USERNAME,
    )
    .await;
    let client = server.client();
    let first = exchange_code(&client, &app, &code, &pkce.verifier)
        .await
        .json();
    let rotated = refresh(&client, &app, &field(&first, "refresh_token"), None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = rotated.json();
    let access = field(&rotated, "access_token");
    assert_alive(&server, &access, "the refreshed access token").await;

    let replay = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_token_error(&replay, 400, "invalid_grant");
    assert_dead(&server, &access, "the refreshed access token").await;
    let again = refresh(&client, &app, &field(&rotated, "refresh_token"), None).await;
    assert_token_error(&again, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_redemptions_of_one_code_succeed_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Racing Code", CALLBACK).await;
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &app, "openid", ADMIN_USERNAME).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (client, app, code, verifier) = (
                server.client(),
                app.clone(),
                code.clone(),
                pkce.verifier.clone(),
            );
            tokio::spawn(async move { exchange_code(&client, &app, &code, &verifier).await })
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
    assert_eq!(ok, 1, "exactly one redemption may succeed");
}

#[tokio::test]
async fn a_code_redeemed_by_another_app_is_invalid_grant() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let owner = create_user_app(&admin, "Owner", CALLBACK).await;
    let thief = create_user_app(&admin, "Thief", CALLBACK).await;
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &owner, "openid profile", ADMIN_USERNAME).await;
    let stolen = exchange_code(&server.client(), &thief, &code, &pkce.verifier).await;
    assert_token_error(&stolen, 400, "invalid_grant");
    assert!(stolen.json().get("access_token").is_none());
}

#[tokio::test]
async fn the_token_request_must_repeat_the_redirect_uri() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Redirects", CALLBACK).await;
    let agent = Agent::new(&server);
    let client = server.client();

    let (code, pkce) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let omitted = token_request(
        &client,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    assert_token_error(&omitted, 400, "invalid_grant");

    for wrong in [
        "http://127.0.0.1:9/cb/",
        "http://127.0.0.1:8/cb",
        "http://127.0.0.1:9/cb?x=1",
    ] {
        let (code, pkce) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
        let resp = token_request(
            &client,
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", wrong),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
        assert_token_error(&resp, 400, "invalid_grant");
    }

    // The same request with the registered URI goes through.
    let (code, pkce) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let ok = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn pkce_binds_the_code_to_its_verifier() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "PKCE", CALLBACK).await;
    let agent = Agent::new(&server);
    let client = server.client();

    // A verifier of the right shape, but not the one of the challenge.
    let (code, _) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let wrong = exchange_code(&client, &app, &code, &Pkce::random().verifier).await;
    assert_token_error(&wrong, 400, "invalid_grant");

    // No verifier for a code bound to a challenge.
    let (code, _) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let missing = token_request(
        &client,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_token_error(&missing, 400, "invalid_grant");

    // A verifier for a code issued without a challenge: a downgrade (RFC 9700 §4.8.2).
    let plain_url = authorize_url(
        &server.base,
        &app,
        &[("scope", "profile"), ("state", "no-pkce")],
    );
    let code = code_via(&agent, &plain_url, ADMIN_USERNAME).await;
    let downgrade = exchange_code(&client, &app, &code, &Pkce::random().verifier).await;
    assert_token_error(&downgrade, 400, "invalid_grant");

    // Without a challenge and without a verifier the exchange works.
    let code = code_via(&agent, &plain_url, ADMIN_USERNAME).await;
    let no_pkce = token_request(
        &client,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(no_pkce.status, 200, "{}", no_pkce.body);

    // The right verifier, for comparison.
    let (code, pkce) = code_for(&server, &agent, &app, "profile", ADMIN_USERNAME).await;
    let right = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_eq!(right.status, 200, "{}", right.body);
}

#[tokio::test]
async fn only_s256_challenges_are_accepted() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Plain PKCE", CALLBACK).await;
    let agent = Agent::new(&server);
    let verifier = Pkce::random().verifier;
    for (method, state) in [("plain", "plain-state"), ("S512", "other-state")] {
        let url = authorize_url(
            &server.base,
            &app,
            &[
                ("scope", "profile"),
                ("state", state),
                ("code_challenge", &verifier),
                ("code_challenge_method", method),
            ],
        );
        let page = agent.get(&url).await;
        assert_error_redirect(&server, &page, CALLBACK, "invalid_request", Some(state));
    }
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Unknown Code", CALLBACK).await;
    let resp = exchange_code(
        &server.client(),
        &app,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &Pkce::random().verifier,
    )
    .await;
    assert_token_error(&resp, 400, "invalid_grant");
    let empty = token_request(
        &server.client(),
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_token_error(&empty, 400, "invalid_request");
}

#[tokio::test]
async fn a_bad_client_or_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Strict Redirects", CALLBACK).await;
    let machine = create_app(&admin, "Machine Only").await;
    let agent = Agent::new(&server);
    let url = |client_id: &str, redirect_uri: &str, response_type: &str| {
        Url::parse_with_params(
            &format!("{}{AUTHORIZE_PATH}", server.base),
            &[
                ("response_type", response_type),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "profile"),
                ("state", "must-not-leak"),
            ],
        )
        .unwrap()
        .to_string()
    };
    let mut cases = vec![
        (
            "unknown client".to_owned(),
            url("0123456789abcdef0123456789abcdef", CALLBACK, "code"),
        ),
        (
            "client_credentials-only client".to_owned(),
            url(&machine.client_id, CALLBACK, "code"),
        ),
        (
            "bad redirect and bad response_type".to_owned(),
            url(&app.client_id, "https://evil.example/cb", "token"),
        ),
    ];
    for variant in [
        "http://127.0.0.1:9/cb/",
        "http://127.0.0.1:8/cb",
        "http://127.0.0.1:9/cb?x=1",
        "http://127.0.0.1:9/CB",
        "http://localhost:9/cb",
        "https://127.0.0.1:9/cb",
    ] {
        cases.push((
            format!("redirect_uri {variant}"),
            url(&app.client_id, variant, "code"),
        ));
    }
    cases.push((
        "no client_id".to_owned(),
        format!(
            "{}{AUTHORIZE_PATH}?response_type=code&redirect_uri={CALLBACK}",
            server.base
        ),
    ));
    for (what, url) in cases {
        let page = agent.get(&url).await;
        assert_error_page(&page, &what);
        assert!(
            !page.body.contains("must-not-leak"),
            "{what}: {}",
            page.body
        );
        assert_page_headers(&page, &what);
    }
}

#[tokio::test]
async fn response_type_token_goes_back_to_the_app_as_unsupported_response_type() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Implicit", CALLBACK).await;
    let url = Url::parse_with_params(
        &format!("{}{AUTHORIZE_PATH}", server.base),
        &[
            ("response_type", "token"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("scope", "profile"),
            ("state", "implicit-state"),
        ],
    )
    .unwrap();
    let page = Agent::new(&server).get(url.as_str()).await;
    assert_error_redirect(
        &server,
        &page,
        CALLBACK,
        "unsupported_response_type",
        Some("implicit-state"),
    );
}

#[tokio::test]
async fn a_scope_the_app_did_not_register_is_invalid_scope() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Scoped", CALLBACK).await;
    let agent = Agent::new(&server);
    for scope in ["openid read:full", "openid bogus", "admin:cloudhub"] {
        let url = authorize_url(
            &server.base,
            &app,
            &[("scope", scope), ("state", "scope-state")],
        );
        let page = agent.get(&url).await;
        assert_error_redirect(
            &server,
            &page,
            CALLBACK,
            "invalid_scope",
            Some("scope-state"),
        );
    }
}

#[tokio::test]
async fn prompt_none_never_shows_a_page() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Silent", CALLBACK).await;
    let agent = Agent::new(&server);
    let silent = authorize_url(
        &server.base,
        &app,
        &[
            ("scope", "openid profile"),
            ("state", "silent"),
            ("prompt", "none"),
        ],
    );
    let page = agent.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "login_required", Some("silent"));

    // Signed in, but the consent page was not answered.
    let pkce = Pkce::random();
    let url = code_url(&server, &app, "openid profile", &pkce);
    let (_, consent) = sign_in(&agent, &url, ADMIN_USERNAME).await;
    assert!(consent.has_id("consent-form"), "{}", consent.body);
    let page = agent.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "consent_required", Some("silent"));

    // After Allow, prompt=none gets a code without a page.
    let allowed = answer_consent(&agent, &consent, "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    let page = agent.get(&silent).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let to = page.location().unwrap();
    assert!(to.as_str().starts_with(CALLBACK), "{to}");
    assert!(query_param(&to, "code").is_some(), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("silent"));
}

#[tokio::test]
async fn consent_is_remembered_until_the_app_asks_for_more_or_prompts() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Remembered", CALLBACK).await;
    let agent = Agent::new(&server);
    let pkce = Pkce::random();

    let (_, consent) = sign_in(
        &agent,
        &code_url(&server, &app, "openid profile", &pkce),
        ADMIN_USERNAME,
    )
    .await;
    assert_eq!(listed_scopes(&consent), ["openid", "profile"]);
    assert!(consent.body.contains(&app.name), "{}", consent.body);
    let allowed = answer_consent(&agent, &consent, "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    assert!(query_param(&allowed.location().unwrap(), "code").is_some());

    // The same request again, and a narrower one: straight back with a code.
    for scope in ["openid profile", "profile"] {
        let page = agent.get(&code_url(&server, &app, scope, &pkce)).await;
        assert_eq!(page.status, 303, "{scope}: {}", page.body);
        let to = page.location().unwrap();
        assert!(to.as_str().starts_with(CALLBACK), "{to}");
        assert!(query_param(&to, "code").is_some(), "{to}");
    }

    // prompt=consent shows the page again.
    let prompted = authorize_url(
        &server.base,
        &app,
        &[
            ("scope", "openid profile"),
            ("state", "again"),
            ("prompt", "consent"),
        ],
    );
    let page = agent.get(&prompted).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("consent-form"), "{}", page.body);
    let allowed = answer_consent(&agent, &page, "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    assert!(query_param(&allowed.location().unwrap(), "code").is_some());

    // A scope beyond the remembered ones asks again.
    let page = agent
        .get(&code_url(&server, &app, "openid profile email", &pkce))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(listed_scopes(&page), ["email", "openid", "profile"]);
}

#[tokio::test]
async fn deny_sends_access_denied_and_remembers_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Denied", CALLBACK).await;
    let agent = Agent::new(&server);
    let pkce = Pkce::random();
    let back = agent
        .authorize_with(
            &code_url(&server, &app, "openid profile", &pkce),
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            Decision::Deny,
        )
        .await;
    assert!(back.as_str().starts_with(CALLBACK), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("state-1"));
    assert_eq!(query_param(&back, "code"), None);
    let silent = authorize_url(
        &server.base,
        &app,
        &[("scope", "openid profile"), ("prompt", "none")],
    );
    let page = agent.get(&silent).await;
    assert_error_redirect(&server, &page, CALLBACK, "consent_required", None);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_401() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Wrong Password", CALLBACK).await;
    let agent = Agent::new(&server);
    let url = code_url(&server, &app, "openid", &Pkce::random());
    let page = agent.get(&url).await;
    let (csrf, request) = (page.input("csrf"), page.input("request"));
    let pairs = [
        ("username", ADMIN_USERNAME),
        ("password", "not-the-password"),
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
    ];
    let wrong = agent.post_form(LOGIN_PATH, &pairs).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.has_id("sign-in-error"), "{}", wrong.body);
    assert!(wrong.has_id("sign-in-form"), "{}", wrong.body);
    assert_eq!(set_cookie(&wrong, "keyhouse_session"), None);
    assert_page_headers(&wrong, "the failed sign-in page");

    // The form shown again works with the right password.
    let (csrf, request) = (wrong.input("csrf"), wrong.input("request"));
    let pairs = [
        ("username", ADMIN_USERNAME),
        ("password", ADMIN_PASSWORD),
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
    ];
    let right = agent.post_form(LOGIN_PATH, &pairs).await;
    assert_eq!(right.status, 303, "{}", right.body);
    assert!(set_cookie(&right, "keyhouse_session").is_some());
}

#[tokio::test]
async fn the_sign_in_form_needs_the_csrf_cookie_and_a_same_site_origin() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Login CSRF", CALLBACK).await;
    let page = Agent::new(&server)
        .get(&code_url(&server, &app, "openid", &Pkce::random()))
        .await;
    let csrf = page.input("csrf");
    let request = page.input("request");
    let cookie_value = set_cookie(&page, "keyhouse_csrf").expect("keyhouse_csrf cookie");
    assert_eq!(
        cookie_value, csrf,
        "double submit: the form carries the cookie"
    );
    let cookie = format!("keyhouse_csrf={cookie_value}");
    let base = server.base.as_str();
    let form = [
        ("username", ADMIN_USERNAME),
        ("password", ADMIN_PASSWORD),
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
    ];

    let no_cookie = post_by_hand(&server, LOGIN_PATH, "", &[("origin", base)], &form).await;
    assert_eq!(
        no_cookie.status, 403,
        "without the cookie: {}",
        no_cookie.body
    );
    let other_value = post_by_hand(
        &server,
        LOGIN_PATH,
        "keyhouse_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &[("origin", base)],
        &form,
    )
    .await;
    assert_eq!(
        other_value.status, 403,
        "another cookie: {}",
        other_value.body
    );
    let evil = post_by_hand(
        &server,
        LOGIN_PATH,
        &cookie,
        &[("origin", "http://evil.example")],
        &form,
    )
    .await;
    assert_eq!(evil.status, 403, "cross-origin: {}", evil.body);
    for fetch_site in ["cross-site", "same-site"] {
        let resp = post_by_hand(
            &server,
            LOGIN_PATH,
            &cookie,
            &[("origin", "null"), ("sec-fetch-site", fetch_site)],
            &form,
        )
        .await;
        assert_eq!(
            resp.status, 403,
            "Sec-Fetch-Site {fetch_site}: {}",
            resp.body
        );
    }

    // The same post from the server's own origin signs in.
    let ok = post_by_hand(&server, LOGIN_PATH, &cookie, &[("origin", base)], &form).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(
        ok.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("keyhouse_session=")),
        "{:?}",
        ok.headers
    );
}

#[tokio::test]
async fn a_consent_form_is_valid_only_in_its_own_browser_session() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Consent CSRF", CALLBACK).await;
    let url = code_url(&server, &app, "openid profile", &Pkce::random());
    let alice = Agent::new(&server);
    let (_, page_a) = sign_in(&alice, &url, ADMIN_USERNAME).await;
    let bob = Agent::new(&server);
    let (signed_in_b, page_b) = sign_in(&bob, &url, ADMIN_USERNAME).await;
    let request = page_b.input("request");
    assert_eq!(page_a.input("request"), request, "the same request");

    let (csrf_a, csrf_b) = (page_a.input("csrf"), page_b.input("csrf"));
    let foreign = [
        ("csrf", csrf_a.as_str()),
        ("request", request.as_str()),
        ("decision", "allow"),
    ];
    let own = [
        ("csrf", csrf_b.as_str()),
        ("request", request.as_str()),
        ("decision", "allow"),
    ];
    let refused = bob.post_form(CONSENT_PATH, &foreign).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.header("location"), None);

    // No session at all.
    let nobody = Agent::new(&server).post_form(CONSENT_PATH, &foreign).await;
    assert_eq!(nobody.status, 403, "{}", nobody.body);

    // Bob's own token, posted from another site.
    let session = set_cookie(&signed_in_b, "keyhouse_session").expect("session cookie");
    let evil = post_by_hand(
        &server,
        CONSENT_PATH,
        &format!("keyhouse_session={session}"),
        &[("origin", "http://evil.example")],
        &own,
    )
    .await;
    assert_eq!(evil.status, 403, "{}", evil.body);

    // Bob's own token from his own browser goes through.
    let ok = bob.post_form(CONSENT_PATH, &own).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(query_param(&ok.location().unwrap(), "code").is_some());
}

#[tokio::test]
async fn an_internal_app_refuses_users_of_another_organization() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let internal = create_user_app(&admin, "Internal Only", CALLBACK).await;
    server.second_tenant("Other Corp", "outsider").await;
    let agent = Agent::new(&server);
    let url = code_url(&server, &internal, "openid profile", &Pkce::random());
    let back = agent.authorize(&url, "outsider", ADMIN_PASSWORD).await;
    assert!(back.as_str().starts_with(CALLBACK), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert_eq!(query_param(&back, "code"), None, "{back}");

    // An app open to everyone serves them.
    let open = create_app_with(
        &admin,
        json!({
            "grant_types": ["authorization_code"],
            "redirect_uris": [CALLBACK],
            "audience": "everyone",
        }),
    )
    .await;
    let tokens = code_tokens_as(&server, &open, "openid profile", "outsider").await;
    let me = server
        .client()
        .with_token(&field(&tokens, "access_token"))
        .get("/accounts/api/users/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["username"], "outsider");
}

#[tokio::test]
async fn every_page_forbids_framing_and_referrers() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Headers", CALLBACK).await;
    let agent = Agent::new(&server);
    let url = code_url(&server, &app, "openid", &Pkce::random());
    let sign_in_page = agent.get(&url).await;
    assert!(sign_in_page.has_id("sign-in-form"));
    assert_page_headers(&sign_in_page, "the sign-in page");
    let (_, consent) = sign_in(&agent, &url, ADMIN_USERNAME).await;
    assert!(consent.has_id("consent-form"));
    assert_page_headers(&consent, "the consent page");
    let error = agent
        .get(&format!(
            "{}{AUTHORIZE_PATH}?response_type=code&client_id=nope",
            server.base
        ))
        .await;
    assert_error_page(&error, "unknown client");
    assert_page_headers(&error, "the error page");
    let expired = agent
        .post_form(
            CONSENT_PATH,
            &[("csrf", "x"), ("request", "y"), ("decision", "allow")],
        )
        .await;
    assert_eq!(expired.status, 403);
    assert_page_headers(&expired, "the expired-form page");
}

#[tokio::test]
async fn a_script_in_the_request_is_escaped_on_the_pages() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Escaping", CALLBACK).await;
    let state = "\"><script>alert(1)</script>";
    let hint = "<script>alert(2)</script>";
    let pkce = Pkce::random();
    let url = authorize_url(
        &server.base,
        &app,
        &[
            ("scope", "openid"),
            ("state", state),
            ("login_hint", hint),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let agent = Agent::new(&server);
    let page = agent.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.to_ascii_lowercase().contains("<script"),
        "{}",
        page.body
    );
    // The values survive, escaped: the form resumes the same request.
    let request = Url::parse(&format!("http://x.invalid/?{}", page.input("request"))).unwrap();
    assert_eq!(query_param(&request, "state").as_deref(), Some(state));
    assert_eq!(page.input("username"), hint);

    let (_, consent) = sign_in(&agent, &url, ADMIN_USERNAME).await;
    assert!(
        !consent.body.to_ascii_lowercase().contains("<script"),
        "{}",
        consent.body
    );
    let back = answer_consent(&agent, &consent, "allow").await;
    let to = back.location().unwrap();
    assert_eq!(query_param(&to, "state").as_deref(), Some(state), "{to}");
    let code = query_param(&to, "code").unwrap();
    let tokens = exchange_code(&server.client(), &app, &code, &pkce.verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
}

#[tokio::test]
async fn delegated_scopes_limit_what_the_token_may_do() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Scope Limits", CALLBACK).await;
    let org = admin.root_org_id().await;
    let envs = format!("/accounts/api/organizations/{org}/environments");
    let client = server.client();

    let narrow = field(
        &code_tokens(&server, &app, "openid profile").await,
        "access_token",
    );
    let full = field(
        &code_tokens(&server, &app, "openid full").await,
        "access_token",
    );
    assert_eq!(
        client
            .with_token(&narrow)
            .get("/accounts/api/me")
            .await
            .status,
        200
    );
    let denied = client.with_token(&narrow).get(&envs).await;
    assert!(
        denied.status == 401 || denied.status == 403,
        "openid profile listed environments: {} {}",
        denied.status,
        denied.body
    );
    let listed = client.with_token(&full).get(&envs).await;
    assert_eq!(listed.status, 200, "{}", listed.body);

    // The app loses `full`: the token issued with it loses that access at once.
    let patched = admin
        .patch(
            &format!("/accounts/api/connectedApplications/{}", app.client_id),
            json!({"scopes": ["openid", "profile", "email", "offline_access"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let after = client.with_token(&full).get(&envs).await;
    assert!(
        after.status == 401 || after.status == 403,
        "the full token still lists environments: {} {}",
        after.status,
        after.body
    );
    assert_eq!(admin.get(&envs).await.status, 200, "the admin still can");
}

#[tokio::test]
async fn codes_tokens_and_reuse_are_audited() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Audited", CALLBACK).await;
    let agent = Agent::new(&server);
    let (code, pkce) = code_for(&server, &agent, &app, "openid", ADMIN_USERNAME).await;
    let client = server.client();
    let first = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = exchange_code(&client, &app, &code, &pkce.verifier).await;
    assert_token_error(&again, 400, "invalid_grant");

    let actions = audit_actions(&server).await;
    let at = |action: &str| {
        actions
            .iter()
            .position(|a| a == action)
            .unwrap_or_else(|| panic!("no {action} in the audit log: {actions:?}"))
    };
    let consent = at("consent.granted");
    let issued = at("authorization.code_issued");
    let token = at("token.issued");
    let reused = at("authorization.code_reused");
    assert!(
        consent <= issued && issued < token && token < reused,
        "{actions:?}"
    );
}

/// Chromium posts the forms of these pages with `Origin: null` and
/// `Sec-Fetch-Site: same-origin`: the pages are served with
/// `Referrer-Policy: no-referrer`, and for a POST under that policy the Fetch
/// standard serialises the origin as `null` ("append a request `Origin`
/// header"). Such a post, with the right CSRF cookie and field, must sign in.
#[tokio::test]
async fn a_browser_form_post_with_origin_null_is_accepted() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Null Origin", CALLBACK).await;
    let page = Agent::new(&server)
        .get(&code_url(&server, &app, "openid", &Pkce::random()))
        .await;
    let (csrf, request) = (page.input("csrf"), page.input("request"));
    let cookie = format!(
        "keyhouse_csrf={}",
        set_cookie(&page, "keyhouse_csrf").expect("csrf cookie")
    );
    let resp = post_by_hand(
        &server,
        LOGIN_PATH,
        &cookie,
        &[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
        ],
        &[
            ("username", ADMIN_USERNAME),
            ("password", ADMIN_PASSWORD),
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
        ],
    )
    .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
}

/// Signs in once, then sends a request with `extra` that must ask to sign in
/// again; signing in must then lead back to the app with a code.
async fn sign_in_again_then_code(extra: (&str, &str)) {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Fresh Sign-in", CALLBACK).await;
    let agent = Agent::new(&server);
    let pkce = Pkce::random();
    code_via(
        &agent,
        &code_url(&server, &app, "openid", &pkce),
        ADMIN_USERNAME,
    )
    .await;
    let url = authorize_url(
        &server.base,
        &app,
        &[("scope", "openid"), ("state", "again"), extra],
    );
    let page = agent.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    let (_, next) = sign_in(&agent, &url, ADMIN_USERNAME).await;
    assert_eq!(
        next.status, 303,
        "after signing in, the request should go on to the app: {} {}",
        next.status, next.body
    );
    let back = next.location().unwrap();
    assert!(query_param(&back, "code").is_some(), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("again"));
}

#[tokio::test]
async fn prompt_login_asks_to_sign_in_again() {
    sign_in_again_then_code(("prompt", "login")).await;
}

/// OIDC Core §3.1.2.1: `max_age=0` is equivalent to `prompt=login`.
#[tokio::test]
async fn max_age_zero_asks_to_sign_in_once() {
    sign_in_again_then_code(("max_age", "0")).await;
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Repeated", CALLBACK).await;
    let agent = Agent::new(&server);
    let base = format!("{}{AUTHORIZE_PATH}", server.base);
    let repeated_scope = Url::parse_with_params(
        &base,
        &[
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
            ("scope", "full"),
            ("state", "rep"),
        ],
    )
    .unwrap();
    let page = agent.get(repeated_scope.as_str()).await;
    assert_error_redirect(&server, &page, CALLBACK, "invalid_request", Some("rep"));
    let repeated_redirect = Url::parse_with_params(
        &base,
        &[
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ],
    )
    .unwrap();
    let page = agent.get(repeated_redirect.as_str()).await;
    assert_error_page(&page, "a repeated redirect_uri");
}

#[tokio::test]
async fn the_authorization_request_may_be_posted() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Posted Request", CALLBACK).await;
    let agent = Agent::new(&server);
    let pkce = Pkce::random();
    let page = agent
        .post_form(
            AUTHORIZE_PATH,
            &[
                ("response_type", "code"),
                ("client_id", &app.client_id),
                ("redirect_uri", CALLBACK),
                ("scope", "openid profile"),
                ("state", "posted"),
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-form"), "{}", page.body);
}

#[tokio::test]
async fn the_single_registered_redirect_uri_may_be_left_out() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Implied Redirect", CALLBACK).await;
    let agent = Agent::new(&server);
    let client = server.client();
    let url = |scope: &str| {
        Url::parse_with_params(
            &format!("{}{AUTHORIZE_PATH}", server.base),
            &[
                ("response_type", "code"),
                ("client_id", app.client_id.as_str()),
                ("scope", scope),
                ("state", "implied"),
            ],
        )
        .unwrap()
        .to_string()
    };
    // OpenID Connect requires it.
    assert_error_page(
        &agent.get(&url("openid")).await,
        "openid without redirect_uri",
    );

    let code = code_via(&agent, &url("profile"), ADMIN_USERNAME).await;
    let omitted = token_request(
        &client,
        &app,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(omitted.status, 200, "{}", omitted.body);
    let code = code_via(&agent, &url("profile"), ADMIN_USERNAME).await;
    let named = token_request(
        &client,
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(named.status, 200, "{}", named.body);
}

#[tokio::test]
async fn failed_sign_ins_on_the_form_are_throttled_with_the_login_endpoint() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    server.user_in(&org, "target", false).await;
    let app = create_user_app(&admin, "Throttled Form", CALLBACK).await;
    let agent = Agent::new(&server);
    let mut page = agent
        .get(&code_url(&server, &app, "openid", &Pkce::random()))
        .await;
    let post = |page: &crate::support::pages::Page, password: &'static str| {
        let (csrf, request) = (page.input("csrf"), page.input("request"));
        let agent = agent.clone();
        async move {
            agent
                .post_form(
                    LOGIN_PATH,
                    &[
                        ("username", "target"),
                        ("password", password),
                        ("csrf", &csrf),
                        ("request", &request),
                    ],
                )
                .await
        }
    };
    for _ in 0..10 {
        page = post(&page, "guessed-wrong").await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    let throttled = post(&page, ADMIN_PASSWORD).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert!(throttled.has_id("sign-in-error"), "{}", throttled.body);
    assert_eq!(set_cookie(&throttled, "keyhouse_session"), None);
    let login = server.client().login("target", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 429, "{}", login.body);
}

#[tokio::test]
async fn introspection_reports_the_delegated_user_client_and_scope() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Introspected", CALLBACK).await;
    let tokens = code_tokens(&server, &app, "openid profile").await;
    let access = field(&tokens, "access_token");
    let client = server.client();
    let introspect = |token: String| {
        let client = client.clone();
        let app = app.clone();
        async move {
            let req = client
                .raw(reqwest::Method::POST, "/accounts/api/v2/oauth2/introspect")
                .basic_auth(&app.client_id, Some(&app.secret))
                .form(&[("token", token.as_str())]);
            client.run(req).await
        }
    };
    let resp = introspect(access.clone()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let json = resp.json();
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["sub"], user_id(&admin).await, "{json}");
    assert_eq!(json["username"], ADMIN_USERNAME, "{json}");
    assert_eq!(json["client_id"], app.client_id, "{json}");
    assert_eq!(
        scope_set(json["scope"].as_str().unwrap()),
        scope_set("openid profile")
    );

    let revoked = admin
        .delete(&format!(
            "/accounts/api/users/me/authorizations/{}",
            app.client_id
        ))
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(introspect(access).await.json()["active"], false);
}

#[tokio::test]
async fn a_disabled_app_can_neither_ask_nor_use_what_it_holds() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Disabled Later", CALLBACK).await;
    let tokens = code_tokens(&server, &app, "openid profile offline_access").await;
    let patched = admin
        .patch(
            &format!("/accounts/api/connectedApplications/{}", app.client_id),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let page = Agent::new(&server)
        .get(&code_url(&server, &app, "openid", &Pkce::random()))
        .await;
    assert_error_page(&page, "a disabled app");
    assert_dead(
        &server,
        &field(&tokens, "access_token"),
        "a disabled app's token",
    )
    .await;
    let resp = refresh(
        &server.client(),
        &app,
        &field(&tokens, "refresh_token"),
        None,
    )
    .await;
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert_eq!(resp.json()["error"], "invalid_client");
}
