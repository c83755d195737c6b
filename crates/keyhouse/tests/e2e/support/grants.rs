//! Helpers for the user-grant tests (docs/user-grants.md): apps with chosen
//! grant types, the authorization code flow driven through the pages without a
//! browser, token requests, and the audit log.

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::callback::param;
use super::http::{Client, Resp};
use super::pages::{tags, Agent, Page, CONSENT_PATH, LOGIN_PATH};
use super::user_apps::{
    authorize_url, exchange_code, token_request, Pkce, UserApp, ADMIN_USERNAME, TOKEN_PATH,
    USER_APP_SCOPES,
};
use super::{TestServer, ADMIN_PASSWORD};

/// A redirect URI nobody listens on: the tests read the `Location` header.
pub const CALLBACK: &str = "http://127.0.0.1:9/cb";

/// The JWT-bearer grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `POST /accounts/api/connectedApplications` with `body` laid over a user-app
/// default (no grant types, no redirect URIs, no keys, [`USER_APP_SCOPES`],
/// `internal`, a `client_uri`); the raw answer.
pub async fn try_create_app(admin: &Client, body: Value) -> Resp {
    let mut full = json!({
        "client_name": format!("app-{}", uuid::Uuid::new_v4().simple()),
        "grant_types": [],
        "redirect_uris": [],
        "public_keys": [],
        "scopes": USER_APP_SCOPES,
        "audience": "internal",
        "client_uri": "https://app.example.com",
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut full, body) {
        base.extend(extra);
    }
    admin
        .post("/accounts/api/connectedApplications", full)
        .await
}

/// Same as [`try_create_app`], expecting 201.
pub async fn create_app_with(admin: &Client, body: Value) -> UserApp {
    let resp = try_create_app(admin, body).await;
    assert_eq!(resp.status, 201, "create app: {}", resp.body);
    let json = resp.json();
    UserApp {
        client_id: json["client_id"].as_str().expect("client_id").to_owned(),
        secret: json["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
        name: json["client_name"].as_str().unwrap_or_default().to_owned(),
        redirect_uri: json["redirect_uris"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// An app allowed the password and refresh_token grants.
pub async fn password_app(admin: &Client) -> UserApp {
    create_app_with(admin, json!({"grant_types": ["password", "refresh_token"]})).await
}

/// One decoded query parameter of a URL.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    param(url.query().unwrap_or_default(), name)
}

/// The authorization URL the tests use: `scope`, `state`, `nonce` and an S256 challenge.
pub fn code_url(server: &TestServer, app: &UserApp, scope: &str, pkce: &Pkce) -> String {
    authorize_url(
        &server.base,
        app,
        &[
            ("scope", scope),
            ("state", "state-1"),
            ("nonce", "nonce-1"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// Runs `url` through the pages as `username` (signing in and allowing as
/// needed) and returns the code the app gets back (its state checked).
pub async fn code_via(agent: &Agent, url: &str, username: &str) -> String {
    let back = agent.authorize(url, username, ADMIN_PASSWORD).await;
    let sent = Url::parse(url).expect("authorize url");
    let want_state = query_param(&sent, "state");
    assert_eq!(query_param(&back, "error"), None, "{back}");
    assert_eq!(query_param(&back, "state"), want_state, "{back}");
    query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

/// A code for `scope` (S256 PKCE) and its verifier, as `username` in `agent`.
pub async fn code_for(
    server: &TestServer,
    agent: &Agent,
    app: &UserApp,
    scope: &str,
    username: &str,
) -> (String, Pkce) {
    let pkce = Pkce::random();
    let code = code_via(agent, &code_url(server, app, scope, &pkce), username).await;
    (code, pkce)
}

/// The whole code flow for `username` with a fresh browser: the token answer's JSON.
pub async fn code_tokens_as(
    server: &TestServer,
    app: &UserApp,
    scope: &str,
    username: &str,
) -> Value {
    let agent = Agent::new(server);
    let (code, pkce) = code_for(server, &agent, app, scope, username).await;
    let resp = exchange_code(&server.client(), app, &code, &pkce.verifier).await;
    assert_eq!(resp.status, 200, "code exchange: {}", resp.body);
    resp.json()
}

/// [`code_tokens_as`] for the first administrator.
pub async fn code_tokens(server: &TestServer, app: &UserApp, scope: &str) -> Value {
    code_tokens_as(server, app, scope, ADMIN_USERNAME).await
}

/// A string field of a token answer (panics when absent).
pub fn field(json: &Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing in {json}"))
        .to_owned()
}

/// `grant_type=refresh_token` for `app`, optionally with a `scope`.
pub async fn refresh(client: &Client, app: &UserApp, token: &str, scope: Option<&str>) -> Resp {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(client, app, &form).await
}

/// `grant_type=password` for `app`, optionally with a `scope`.
pub async fn password_grant(
    client: &Client,
    app: &UserApp,
    username: &str,
    password: &str,
    scope: Option<&str>,
) -> Resp {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(client, app, &form).await
}

/// Asserts the access token no longer opens anything (401 `invalid_token`).
pub async fn assert_dead(server: &TestServer, token: &str, what: &str) {
    let resp = server
        .client()
        .with_token(token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(resp.status, 401, "{what} still works: {}", resp.body);
}

/// Asserts the access token still works.
pub async fn assert_alive(server: &TestServer, token: &str, what: &str) {
    let resp = server
        .client()
        .with_token(token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(resp.status, 200, "{what} does not work: {}", resp.body);
}

/// Asserts an OAuth error answer of the token endpoint (status, code, no-store).
pub fn assert_token_error(resp: &Resp, status: u16, code: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert_eq!(resp.json()["error"], code, "{}", resp.body);
    assert_eq!(
        resp.header("cache-control").as_deref(),
        Some("no-store"),
        "{}",
        resp.body
    );
}

/// Asserts a 303 back to `redirect_uri` with `error` (and the state, the
/// issuer, and no code); returns the redirect.
pub fn assert_error_redirect(
    server: &TestServer,
    page: &Page,
    redirect_uri: &str,
    error: &str,
    state: Option<&str>,
) -> Url {
    assert_eq!(page.status, 303, "expected a redirect: {}", page.body);
    let to = page.location().expect("Location");
    assert!(to.as_str().starts_with(redirect_uri), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), state, "{to}");
    assert_eq!(
        query_param(&to, "iss").as_deref(),
        Some(server.base.as_str()),
        "{to}"
    );
    assert_eq!(query_param(&to, "code"), None, "{to}");
    to
}

/// A page answered with the error page: 400, `#error-title`, and no redirect.
pub fn assert_error_page(page: &Page, what: &str) {
    assert_eq!(page.status, 400, "{what}: {} {}", page.status, page.body);
    assert!(page.has_id("error-title"), "{what}: {}", page.body);
    assert!(page.has_id("error-message"), "{what}: {}", page.body);
    assert_eq!(page.header("location"), None, "{what} redirected");
}

/// The value of cookie `name` set by `page`, if it set one.
pub fn set_cookie(page: &Page, name: &str) -> Option<String> {
    page.header_all("set-cookie").iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (n, v) = first.split_once('=')?;
        (n.trim() == name).then(|| v.trim().to_owned())
    })
}

/// Signs in on the sign-in page `authorize_url` shows: returns the answer to the
/// form post (a 303 with the session cookie) and the page it leads to.
pub async fn sign_in(agent: &Agent, authorize_url: &str, username: &str) -> (Page, Page) {
    let page = agent.get(authorize_url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    let posted = agent
        .post_form(
            LOGIN_PATH,
            &[
                ("username", username),
                ("password", ADMIN_PASSWORD),
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "sign-in: {}", posted.body);
    let next = posted.location().expect("Location after sign-in");
    let page = agent.get(next.as_str()).await;
    (posted, page)
}

/// Answers the consent page `page` with `decision` (`allow` or `deny`).
pub async fn answer_consent(agent: &Agent, page: &Page, decision: &str) -> Page {
    assert!(
        page.has_id("consent-form"),
        "not the consent page: {}",
        page.body
    );
    agent
        .post_form(
            CONSENT_PATH,
            &[
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
                ("decision", decision),
            ],
        )
        .await
}

/// The `data-scope` of every `li.scope` of a consent page, sorted.
pub fn listed_scopes(page: &Page) -> Vec<String> {
    let mut scopes: Vec<String> = tags(&page.body)
        .iter()
        .filter(|t| t.name == "li" && t.attr("class") == Some("scope"))
        .filter_map(|t| t.attr("data-scope").map(str::to_owned))
        .collect();
    scopes.sort();
    scopes
}

/// The headers every page must carry (docs/user-grants.md, "The pages").
pub fn assert_page_headers(page: &Page, what: &str) {
    assert_eq!(
        page.header("x-frame-options").as_deref(),
        Some("DENY"),
        "{what}"
    );
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        page.header("cache-control").as_deref(),
        Some("no-store"),
        "{what}"
    );
}

/// The value of the `csrf` input inside the form posting to `action`.
pub fn form_csrf(page: &Page, action: &str) -> Option<String> {
    let mut in_form = false;
    for tag in tags(&page.body) {
        if tag.name == "form" {
            in_form = tag.attr("action") == Some(action);
        } else if in_form && tag.name == "input" && tag.attr("name") == Some("csrf") {
            return tag.attr("value").map(str::to_owned);
        }
    }
    None
}

/// A client with no cookie store and no redirects, for hand-made requests.
pub fn bare_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts a form by hand, with exactly these cookies and headers.
pub async fn post_by_hand(
    server: &TestServer,
    path: &str,
    cookies: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Resp {
    let mut req = bare_http()
        .request(Method::POST, format!("{}{}", server.base, path))
        .form(form);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.expect("request");
    Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

/// The token endpoint with `client_secret_post` credentials (or none) in a form.
pub async fn token_form_post(client: &Client, form: &[(&str, &str)]) -> Resp {
    let req = client.raw(Method::POST, TOKEN_PATH).form(form);
    client.run(req).await
}

/// The actions of the audit log, oldest first, read straight from the
/// server's database (SQLite file or PostgreSQL).
pub async fn audit_actions(server: &TestServer) -> Vec<String> {
    use sqlx::{Connection, Row};
    const QUERY: &str = "SELECT action FROM audit_events ORDER BY seq";
    match server.database_url() {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            let rows = sqlx::query(QUERY)
                .fetch_all(&mut conn)
                .await
                .expect("query");
            rows.iter().map(|r| r.get::<String, _>("action")).collect()
        }
        None => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(server.data_path().join("keyhouse.db"))
                .read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("open the SQLite file");
            let rows = sqlx::query(QUERY)
                .fetch_all(&mut conn)
                .await
                .expect("query");
            rows.iter().map(|r| r.get::<String, _>("action")).collect()
        }
    }
}
