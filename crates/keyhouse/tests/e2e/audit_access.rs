//! Who may read an organization's audit log, and what bad queries get: the
//! `{"status", "message"}` errors of the other Anypoint APIs.

use serde_json::{json, Value};

use crate::support::audit::{app_with, entries, query};
use crate::support::TestServer;

#[tokio::test]
async fn readers_are_org_admins_and_apps_with_read_audit_logs_in_that_org() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let group = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "Audited BG", "parentOrganizationId": org}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group = group.json()["id"].as_str().unwrap().to_owned();

    // No credentials: 401 with a challenge.
    let anonymous = query(&server.client(), &org, "", json!({})).await;
    anonymous.assert_error(401);
    assert!(anonymous.header("www-authenticate").is_some());
    let garbage = server.client().with_token("not-a-token");
    query(&garbage, &org, "", json!({})).await.assert_error(401);

    // The administrator reads the org and its business groups.
    assert_eq!(query(&admin, &org, "", json!({})).await.status, 200);
    assert_eq!(query(&admin, &group, "", json!({})).await.status, 200);

    // An app with read:audit_logs in the org reads that org only.
    let auditor = app_with(&server, &admin, &org, &["read:audit_logs"]).await;
    let read = query(&auditor, &org, "", json!({})).await;
    assert!(!entries(&read).is_empty(), "the admin's login at least");
    query(&auditor, &group, "", json!({}))
        .await
        .assert_error(403);
    let in_group = app_with(&server, &admin, &group, &["read:audit_logs"]).await;
    assert_eq!(query(&in_group, &group, "", json!({})).await.status, 200);
    query(&in_group, &org, "", json!({}))
        .await
        .assert_error(403);

    // An app without the scope: 403 naming the scope (RFC 6750 §3.1).
    let viewer = app_with(&server, &admin, &org, &["view:organization"]).await;
    let refused = query(&viewer, &org, "", json!({})).await;
    let message = refused.assert_error(403);
    assert!(message.contains("read:audit_logs"), "{message}");
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert!(challenge.contains("read:audit_logs"), "{challenge}");

    // A member who is not an administrator: 403.
    let member = server.user_in(&org, "plain-member", false).await;
    query(&member, &org, "", json!({})).await.assert_error(403);
    member
        .get(&format!("/audit/v2/organizations/{org}/platforms"))
        .await
        .assert_error(403);

    // Another tenant's admin, and unknown organizations: the same 403.
    let stranger = server.second_tenant("Elsewhere", "elsewhere-admin").await;
    query(&stranger, &org, "", json!({}))
        .await
        .assert_error(403);
    let unknown = uuid::Uuid::new_v4().to_string();
    let message = query(&admin, &unknown, "", json!({}))
        .await
        .assert_error(403);
    let foreign = stranger.root_org_id().await;
    let same = query(&admin, &foreign, "", json!({}))
        .await
        .assert_error(403);
    assert_eq!(
        message.replace(&unknown, "X"),
        same.replace(&foreign, "X"),
        "unknown and foreign organizations are refused alike"
    );
    query(&auditor, &foreign, "", json!({}))
        .await
        .assert_error(403);
    query(&admin, "not-a-uuid", "", json!({}))
        .await
        .assert_error(400);
}

#[tokio::test]
async fn bad_filters_are_400_in_the_anypoint_error_shape() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let many: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    let bodies: Vec<(&str, Value)> = vec![
        ("", json!({"limit": 0})),
        ("", json!({"limit": 1001})),
        ("", json!({"limit": -1})),
        ("", json!({"offset": -1})),
        ("", json!({"offset": "ten"})),
        ("", json!({"startDate": "yesterday"})),
        ("", json!({"startDate": true})),
        ("", json!({"endDate": 1.5})),
        ("", json!({"endDate": "2024-02-30T00:00:00Z"})),
        ("", json!({"startDate": 2000, "endDate": 1000})),
        ("", json!({"userIds": ["not-a-uuid"]})),
        ("", json!({"actions": "user.login"})),
        ("", json!({"actions": [""]})),
        ("", json!({"objectIds": many})),
        ("", json!({"objectTypes": ["x".repeat(300)]})),
        ("", json!({"ascending": "yes"})),
        (
            "",
            json!({"organizationId": uuid::Uuid::new_v4().to_string()}),
        ),
        ("", json!({"organizationId": "nope"})),
        ("", json!({"cursor": "garbage"})),
        (
            "?cursorPagination=true",
            json!({"cursor": "ZDoxOjEnIE9SIDE9MQ"}),
        ),
        ("?cursorPagination=maybe", json!({})),
        ("?doIncludeTotal=1", json!({})),
        ("?limit=abc", json!({})),
    ];
    for (params, body) in bodies {
        let resp = query(&admin, &org, params, body.clone()).await;
        assert_eq!(resp.status, 400, "{params} {body}: {}", resp.body);
        let message = resp.assert_error(400);
        assert!(
            !message.contains("SQL") && !message.contains("sqlx"),
            "{message}"
        );
    }
    // A matching organizationId is fine; so are unknown keys.
    let fine = query(
        &admin,
        &org,
        "?include_internal=false",
        json!({"organizationId": org, "sortBy": "x"}),
    )
    .await;
    assert_eq!(fine.status, 200, "{}", fine.body);
    // Not JSON at all.
    let path = format!("/audit/v2/organizations/{org}/query");
    let text = admin
        .send(
            reqwest::Method::POST,
            &path,
            Some("application/json"),
            b"{oops".to_vec(),
        )
        .await;
    text.assert_error(400);
    let wrong_type = admin
        .send(
            reqwest::Method::POST,
            &path,
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    wrong_type.assert_error(415);
    admin.get(&path).await.assert_error(405);
}

#[tokio::test]
async fn platforms_and_retention_settings() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let base = format!("/audit/v2/organizations/{org}");
    let platforms = admin
        .get(&format!("{base}/platforms?include_internal=false"))
        .await;
    assert_eq!(platforms.status, 200, "{}", platforms.body);
    assert_eq!(
        platforms.json(),
        json!({"data": ["Access Management"], "total": 1})
    );
    let retention = admin.get(&format!("{base}/retentionSettings")).await;
    assert_eq!(retention.status, 200, "{}", retention.body);
    assert_eq!(
        retention.json(),
        json!({"retentionPeriodDays": 365, "editable": false})
    );
    let auditor = app_with(&server, &admin, &org, &["read:audit_logs"]).await;
    assert_eq!(
        auditor
            .get(&format!("{base}/retentionSettings"))
            .await
            .status,
        200
    );
    server
        .client()
        .get(&format!("{base}/platforms"))
        .await
        .assert_error(401);
}
