//! The token endpoint (RFC 6749), introspection (RFC 7662) and revocation (RFC 7009).

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::support::apps::{app_token, assert_oauth_error, create_app, token_form, App};
use crate::support::{Client, TestServer};

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn creds(app: &App) -> String {
    format!("client_id={}&client_secret={}", app.client_id, app.secret)
}

async fn post(
    client: &Client,
    path: &str,
    ct: &str,
    body: String,
    auth: Option<String>,
) -> crate::support::http::Resp {
    let mut req = client
        .raw(Method::POST, path)
        .header("content-type", ct)
        .body(body);
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    client.run(req).await
}

#[tokio::test]
async fn client_credentials_in_form_json_basic_and_on_the_legacy_path() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "issuer").await;
    let client = server.client();
    let form = format!("grant_type=client_credentials&{}", creds(&app));
    let json_body = json!({"grant_type": "client_credentials", "client_id": app.client_id,
                           "client_secret": app.secret})
    .to_string();
    let cases = [
        (
            "/accounts/api/v2/oauth2/token",
            "application/x-www-form-urlencoded",
            form.clone(),
            None,
        ),
        (
            "/accounts/api/v2/oauth2/token",
            "application/json",
            json_body.clone(),
            None,
        ),
        (
            "/accounts/api/v2/oauth2/token",
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials".to_owned(),
            Some(basic(&app.client_id, &app.secret)),
        ),
        (
            "/accounts/oauth2/token",
            "application/x-www-form-urlencoded",
            form.clone(),
            None,
        ),
        (
            "/accounts/oauth2/token",
            "application/json",
            json_body.clone(),
            None,
        ),
        // A stale bearer header (anypoint-cli-v4 sends one) is ignored.
        (
            "/accounts/api/v2/oauth2/token",
            "application/json",
            json_body.clone(),
            Some("Bearer stale-token".to_owned()),
        ),
    ];
    for (path, ct, body, auth) in cases {
        let resp = post(&client, path, ct, body, auth).await;
        assert_eq!(resp.status, 200, "{path} {ct}: {}", resp.body);
        let json = resp.json();
        assert_eq!(json["token_type"], "bearer");
        assert_eq!(json["expires_in"], 3600);
        assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(resp.header("pragma").as_deref(), Some("no-cache"));
        let token = json["access_token"].as_str().unwrap();
        assert_eq!(
            client
                .with_token(token)
                .get("/accounts/api/me")
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn every_rfc_6749_error() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "errors").await;
    let client = server.client();
    let token = "/accounts/api/v2/oauth2/token";
    let form = "application/x-www-form-urlencoded";

    let wrong = post(
        &client,
        token,
        form,
        format!(
            "grant_type=client_credentials&client_id={}&client_secret=wrong",
            app.client_id
        ),
        None,
    )
    .await;
    assert_oauth_error(&wrong, 401, "invalid_client");
    assert!(wrong
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    let unknown = post(&client, token, form,
        "grant_type=client_credentials&client_id=0123456789abcdef0123456789abcdef&client_secret=wrong".into(), None).await;
    assert_oauth_error(&unknown, 401, "invalid_client");
    assert_eq!(wrong.body, unknown.body, "no client enumeration");
    let basic_wrong = post(
        &client,
        token,
        form,
        "grant_type=client_credentials".into(),
        Some(basic(&app.client_id, "wrong")),
    )
    .await;
    assert_oauth_error(&basic_wrong, 401, "invalid_client");
    let no_creds = post(
        &client,
        token,
        form,
        "grant_type=client_credentials".into(),
        None,
    )
    .await;
    assert_oauth_error(&no_creds, 401, "invalid_client");

    let missing_grant = post(&client, token, form, creds(&app), None).await;
    assert_oauth_error(&missing_grant, 400, "invalid_request");
    let bogus = post(
        &client,
        token,
        form,
        format!("grant_type=bogus&{}", creds(&app)),
        None,
    )
    .await;
    assert_oauth_error(&bogus, 400, "unsupported_grant_type");
    let not_allowed = post(
        &client,
        token,
        form,
        format!(
            "grant_type=password&username=admin&password=x&{}",
            creds(&app)
        ),
        None,
    )
    .await;
    assert_oauth_error(&not_allowed, 400, "unauthorized_client");
    let scope = post(
        &client,
        token,
        form,
        format!(
            "grant_type=client_credentials&scope=edit:organization&{}",
            creds(&app)
        ),
        None,
    )
    .await;
    assert_oauth_error(&scope, 400, "invalid_scope");
    let twice = post(
        &client,
        token,
        form,
        format!(
            "grant_type=client_credentials&grant_type=client_credentials&{}",
            creds(&app)
        ),
        None,
    )
    .await;
    assert_oauth_error(&twice, 400, "invalid_request");
    let two_methods = post(
        &client,
        token,
        form,
        format!("grant_type=client_credentials&{}", creds(&app)),
        Some(basic(&app.client_id, &app.secret)),
    )
    .await;
    assert_oauth_error(&two_methods, 400, "invalid_request");
    let in_query = post(
        &client,
        &format!(
            "{token}?client_id={}&client_secret={}",
            app.client_id, app.secret
        ),
        form,
        "grant_type=client_credentials".into(),
        None,
    )
    .await;
    assert_oauth_error(&in_query, 400, "invalid_request");
    let plain = post(
        &client,
        token,
        "text/plain",
        "grant_type=client_credentials".into(),
        None,
    )
    .await;
    assert_oauth_error(&plain, 400, "invalid_request");
    let not_object = post(&client, token, "application/json", "[1,2]".into(), None).await;
    assert_oauth_error(&not_object, 400, "invalid_request");
    let typed = post(
        &client,
        token,
        "application/json",
        json!({"grant_type": ["client_credentials"]}).to_string(),
        None,
    )
    .await;
    assert_oauth_error(&typed, 400, "invalid_request");
    let huge =
        crate::support::http::post_oversized(&server.base, token, form, 2 * 1024 * 1024, None)
            .await;
    assert_eq!(huge.status, 413);
    assert_eq!(huge.json()["error"], "invalid_request");
    let get = client.get(token).await;
    assert_eq!(get.status, 405);
    // With a scope it does hold, the answer echoes it.
    let held = post(
        &client,
        token,
        form,
        format!(
            "grant_type=client_credentials&scope=profile&{}",
            creds(&app)
        ),
        None,
    )
    .await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.json()["scope"], "profile");
}

#[tokio::test]
async fn repeated_wrong_secrets_are_throttled_then_refused_with_429() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "target").await;
    let bystander = create_app(&admin, "bystander").await;
    let client = server.client();
    let mut throttled = None;
    for _ in 0..15 {
        let resp = token_form(
            &client,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret=guess",
                app.client_id
            ),
        )
        .await;
        if resp.status == 429 {
            throttled = Some(resp);
            break;
        }
        assert_oauth_error(&resp, 401, "invalid_client");
    }
    let throttled = throttled.expect("no 429 after 15 wrong secrets");
    assert!(
        throttled
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(throttled.json()["error"], "temporarily_unavailable");
    // While throttled even the right secret is refused ...
    let right = token_form(
        &client,
        &format!("grant_type=client_credentials&{}", creds(&app)),
    )
    .await;
    assert_eq!(right.status, 429, "{}", right.body);
    // ... but other clients are unaffected.
    assert!(!app_token(&client, &bystander).await.is_empty());
}

#[tokio::test]
async fn introspection_needs_client_auth_and_reports_live_tokens_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "introspector").await;
    let client = server.client();
    let token = app_token(&client, &app).await;
    let path = "/accounts/api/v2/oauth2/introspect";
    let form = "application/x-www-form-urlencoded";
    let anonymous = post(&client, path, form, format!("token={token}"), None).await;
    assert_oauth_error(&anonymous, 401, "invalid_client");
    let auth = Some(basic(&app.client_id, &app.secret));
    let active = post(&client, path, form, format!("token={token}"), auth.clone()).await;
    assert_eq!(active.status, 200, "{}", active.body);
    let json = active.json();
    assert_eq!(json["active"], true);
    assert_eq!(json["client_id"], app.client_id.as_str());
    assert_eq!(json["sub"], app.client_id.as_str());
    assert!(json["exp"].as_i64().unwrap() > json["iat"].as_i64().unwrap());
    let unknown = post(&client, path, form, "token=nope".into(), auth.clone()).await;
    assert_eq!(unknown.json(), json!({"active": false}));
    let user_token = admin.token.clone().unwrap();
    let user = post(
        &client,
        path,
        form,
        format!("token={user_token}"),
        auth.clone(),
    )
    .await
    .json();
    assert_eq!(user["active"], true);
    assert_eq!(user["username"], "admin");
    let missing = post(&client, path, form, String::new(), auth).await;
    assert_oauth_error(&missing, 400, "invalid_request");
}

#[tokio::test]
async fn revocation_is_immediate_and_only_by_the_owner() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "owner").await;
    let other = create_app(&admin, "other").await;
    let client = server.client();
    let token = app_token(&client, &app).await;
    let path = "/accounts/api/v2/oauth2/revoke";
    let form = "application/x-www-form-urlencoded";
    let holder = client.with_token(&token);

    let wrong = post(
        &client,
        path,
        form,
        format!("token={token}"),
        Some(basic(&app.client_id, "bad")),
    )
    .await;
    assert_oauth_error(&wrong, 401, "invalid_client");
    assert_eq!(
        holder.get("/accounts/api/me").await.status,
        200,
        "a failed revoke leaves the token alive"
    );
    let foreign = post(
        &client,
        path,
        form,
        format!("token={token}"),
        Some(basic(&other.client_id, &other.secret)),
    )
    .await;
    assert_oauth_error(&foreign, 400, "unauthorized_client");
    assert_eq!(holder.get("/accounts/api/me").await.status, 200);
    let unknown = post(
        &client,
        path,
        form,
        "token=never-issued".into(),
        Some(basic(&app.client_id, &app.secret)),
    )
    .await;
    assert_eq!(unknown.status, 200);
    let own = post(
        &client,
        path,
        form,
        format!("token={token}&token_type_hint=access_token&{}", creds(&app)),
        None,
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    holder.get("/accounts/api/me").await.assert_error(401);
    let introspected = post(
        &client,
        "/accounts/api/v2/oauth2/introspect",
        form,
        format!("token={token}"),
        Some(basic(&app.client_id, &app.secret)),
    )
    .await;
    assert_eq!(introspected.json(), json!({"active": false}));
}
