//! Issue 7: Prometheus metrics at `/metrics`, request ids, and logs that
//! never contain a secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::apps::{assert_oauth_error, cc_body, create_app, token_form};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// The value of the sample `name{labels}` in an exposition, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next())
        .map(|v| v.parse().expect("a number"))
}

fn sample_or_zero(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_session_lookups() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_app(&admin, "metrics-app").await;
    let anonymous = server.client();
    let issued = token_form(&anonymous, &cc_body(&app.client_id, &app.secret)).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    let me = anonymous.with_token(&token).get("/accounts/api/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    let bogus = anonymous
        .with_token("not-a-live-token")
        .get("/accounts/api/me")
        .await;
    assert_eq!(bogus.status, 401);
    let wrong = token_form(&anonymous, &cc_body(&app.client_id, "wrong-secret")).await;
    assert_oauth_error(&wrong, 401, "invalid_client");
    let unsupported = token_form(&anonymous, "grant_type=device_code").await;
    assert_oauth_error(&unsupported, 400, "unsupported_grant_type");
    let missing = token_form(&anonymous, "scope=x").await;
    assert_oauth_error(&missing, 400, "invalid_request");
    let secret_path = format!("/no/such/{}", app.secret);
    assert_eq!(anonymous.get(&secret_path).await.status, 404);

    let resp = anonymous.get("/metrics").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let content_type = resp.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = &resp.body;
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let me_route = r#"route="/accounts/api/me",method="GET""#;
    let expectations = [
        (format!(r#"keyhouse_http_requests_total{{{me_route},status_class="2xx"}}"#), 1.0),
        (format!(r#"keyhouse_http_requests_total{{{me_route},status_class="4xx"}}"#), 1.0),
        (
            r#"keyhouse_http_requests_total{route="/accounts/api/connectedApplications",method="POST",status_class="2xx"}"#.to_owned(),
            1.0,
        ),
        (
            r#"keyhouse_http_requests_total{route="/accounts/api/v2/oauth2/token",method="POST",status_class="4xx"}"#.to_owned(),
            3.0,
        ),
        (
            r#"keyhouse_http_requests_total{route="unmatched",method="GET",status_class="4xx"}"#.to_owned(),
            1.0,
        ),
        (
            r#"keyhouse_http_request_duration_seconds_count{route="/accounts/api/me"}"#.to_owned(),
            2.0,
        ),
        (
            r#"keyhouse_tokens_issued_total{grant_type="client_credentials"}"#.to_owned(),
            1.0,
        ),
        (r#"keyhouse_tokens_issued_total{grant_type="login"}"#.to_owned(), 1.0),
        (r#"keyhouse_tokens_issued_total{grant_type="password"}"#.to_owned(), 0.0),
        (r#"keyhouse_token_failures_total{error="invalid_client"}"#.to_owned(), 1.0),
        (
            r#"keyhouse_token_failures_total{error="unsupported_grant_type"}"#.to_owned(),
            1.0,
        ),
        (r#"keyhouse_token_failures_total{error="invalid_request"}"#.to_owned(), 1.0),
        (r#"keyhouse_token_failures_total{error="invalid_grant"}"#.to_owned(), 0.0),
    ];
    for (series, expected) in expectations {
        assert_eq!(sample(text, &series), Some(expected), "{series} in\n{text}");
    }
    // The admin's requests and the app's /me hit the table; the bogus token missed.
    assert!(sample_or_zero(text, r#"keyhouse_session_lookups_total{result="hit"}"#) >= 2.0);
    assert!(sample_or_zero(text, r#"keyhouse_session_lookups_total{result="miss"}"#) >= 1.0);
    assert!(
        sample_or_zero(text, "keyhouse_live_tokens") >= 2.0,
        "{text}"
    );
    // Both tokens went through the group-commit writer.
    assert!(sample_or_zero(text, "keyhouse_token_write_batch_size_count") >= 1.0);
    assert!(sample_or_zero(text, "keyhouse_token_write_batch_size_sum") >= 2.0);
    assert!(
        sample(text, r#"keyhouse_token_write_batch_size_bucket{le="+Inf"}"#).is_some(),
        "{text}"
    );
    assert_eq!(
        sample(text, "keyhouse_token_write_batch_failures_total"),
        Some(0.0)
    );
    let admin_token = admin.token.clone().unwrap();
    for secret in [
        app.secret.as_str(),
        token.as_str(),
        admin_token.as_str(),
        ADMIN_PASSWORD,
        app.client_id.as_str(),
        "not-a-live-token",
        "/no/such",
    ] {
        assert!(!text.contains(secret), "{secret:?} in the metrics:\n{text}");
    }
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let server = TestServer::start_logged(&[("KEYHOUSE_METRICS_ENABLED", "false")]).await;
    server.client().get("/healthz").await;
    server.client().get("/metrics").await.assert_error(404);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::start().await;
    let client = server.client();
    for path in ["/healthz", "/accounts/api/me", "/no/such/path"] {
        let resp = client.get(path).await;
        let id = resp.header("x-request-id").expect("x-request-id");
        assert_eq!(id.len(), 36, "{path}: a UUID, got {id}");
        assert_eq!(resp.header("x-anypnt-trx-id"), Some(id), "{path}");
    }
    let fresh = |resp: &crate::support::http::Resp| resp.header("x-request-id").unwrap();
    let a = client.get("/healthz").await;
    let b = client.get("/healthz").await;
    assert_ne!(fresh(&a), fresh(&b), "a new id per request");

    let sent = client
        .run(
            client
                .raw(Method::GET, "/healthz")
                .header("X-Request-Id", "trace-42.a_b:c"),
        )
        .await;
    assert_eq!(
        sent.header("x-request-id").as_deref(),
        Some("trace-42.a_b:c")
    );
    assert_eq!(
        sent.header("x-anypnt-trx-id").as_deref(),
        Some("trace-42.a_b:c")
    );
    let anypoint = client
        .run(
            client
                .raw(Method::GET, "/healthz")
                .header("X-ANYPNT-TRX-ID", "trx-7"),
        )
        .await;
    assert_eq!(anypoint.header("x-request-id").as_deref(), Some("trx-7"));
    // Ids that could forge log lines or flood them are replaced.
    for bad in ["two words", "semi;colon", &"x".repeat(200)] {
        let resp = client
            .run(
                client
                    .raw(Method::GET, "/healthz")
                    .header("X-Request-Id", bad),
            )
            .await;
        let id = resp.header("x-request-id").unwrap();
        assert_eq!(id.len(), 36, "{bad:?} was kept: {id}");
    }
}

/// The objects of the request spans of a JSON log line.
fn request_ids(line: &Value) -> Vec<String> {
    line["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["request_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn logs_are_json_with_request_ids_and_never_contain_secrets() {
    let server = TestServer::start_logged(&[
        ("KEYHOUSE_LOG_FORMAT", "json"),
        // Debug, so that every layer that might print a request does.
        ("RUST_LOG", "debug"),
    ])
    .await;
    let client = server.client();
    let admin = server.admin().await;
    let admin_token = admin.token.clone().unwrap();
    let wrong_password = "Wrong-Passphrase-Never-Logged-81";
    let failed = client.login("admin", wrong_password).await;
    assert_eq!(failed.status, 401, "{}", failed.body);
    let failed_id = failed.header("x-request-id").unwrap();

    let app = create_app(&admin, "log-app").await;
    let basic = STANDARD.encode(format!("{}:{}", app.client_id, app.secret));
    let by_basic = client
        .run(
            client
                .raw(Method::POST, "/accounts/api/v2/oauth2/token")
                .header("authorization", format!("Basic {basic}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(by_basic.status, 200, "{}", by_basic.body);
    let basic_token = by_basic.json()["access_token"].as_str().unwrap().to_owned();
    let by_post = token_form(&client, &cc_body(&app.client_id, &app.secret)).await;
    assert_eq!(by_post.status, 200, "{}", by_post.body);
    let post_token = by_post.json()["access_token"].as_str().unwrap().to_owned();
    let wrong_secret = "wrong-client-secret-never-logged-55";
    let refused = token_form(&client, &cc_body(&app.client_id, wrong_secret)).await;
    assert_oauth_error(&refused, 401, "invalid_client");
    let query_secret = "query-secret-never-logged-77";
    let in_query = client
        .send(
            Method::POST,
            &format!("/accounts/api/v2/oauth2/token?client_secret={query_secret}"),
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials".to_vec(),
        )
        .await;
    assert_eq!(in_query.status, 400, "{}", in_query.body);
    let introspected = client
        .run(
            client
                .raw(Method::POST, "/accounts/api/v2/oauth2/introspect")
                .header("authorization", format!("Basic {basic}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={post_token}")),
        )
        .await;
    assert_eq!(introspected.json()["active"], true, "{}", introspected.body);
    let me = client
        .with_token(&basic_token)
        .get("/accounts/api/me")
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let cookie = client
        .run(
            client
                .raw(Method::GET, "/accounts/authorizations")
                .header("cookie", "keyhouse_session=cookie-secret-never-logged-9"),
        )
        .await;
    assert_eq!(cookie.status, 200);
    let env = admin
        .post(
            &format!(
                "/accounts/api/organizations/{}/environments",
                admin.root_org_id().await
            ),
            json!({"name": "LogEnv", "type": "sandbox"}),
        )
        .await;
    assert_eq!(env.status, 201, "{}", env.body);
    assert_eq!(
        admin.post("/accounts/api/logout", json!({})).await.status,
        204
    );

    let logs = server.logs();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "too few log lines:\n{logs}");
    for secret in [
        ADMIN_PASSWORD,
        wrong_password,
        app.secret.as_str(),
        wrong_secret,
        query_secret,
        basic.as_str(),
        admin_token.as_str(),
        basic_token.as_str(),
        post_token.as_str(),
        "cookie-secret-never-logged-9",
    ] {
        assert!(!logs.contains(secret), "{secret:?} was logged:\n{logs}");
    }
    // The failed login is logged once, inside its request's span.
    let failure = lines
        .iter()
        .find(|l| l["message"] == "login failed")
        .unwrap_or_else(|| panic!("no 'login failed' line:\n{logs}"));
    assert_eq!(failure["level"], "INFO");
    assert_eq!(request_ids(failure), vec![failed_id.clone()], "{failure}");
    let span = failure["spans"][0].clone();
    assert_eq!(span["method"], "POST", "{span}");
    assert_eq!(span["path"], "/accounts/login", "{span}");
    // Every line written while serving a request names it (the edge layer's
    // "started/finished processing request" lines at debug, for instance).
    let served: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "keyhouse_http::edge")
        .collect();
    assert!(!served.is_empty(), "no request lines:\n{logs}");
    for line in served {
        assert_eq!(request_ids(line).len(), 1, "{line}");
    }
}
