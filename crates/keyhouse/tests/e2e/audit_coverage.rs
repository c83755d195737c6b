//! What gets audited (logins, connected apps, environments, business
//! groups; client_credentials tokens as per-batch summaries), `keyhouse audit export`, and
//! retention.

use serde_json::{json, Value};

use crate::support::apps::{app_token, create_app, set_scopes};
use crate::support::audit::{entries, field, now_ms, query, seed, Seed, DAY_MS};
use crate::support::{Client, TestServer, ADMIN_PASSWORD};

/// Every event of `org`, oldest first.
async fn log_of(admin: &Client, org: &str) -> Vec<Value> {
    entries(&query(admin, org, "", json!({"ascending": true, "limit": 1000})).await)
}

/// The one event with `action` and `objectId` (panics unless exactly one).
fn only<'a>(log: &'a [Value], action: &str, object: &str) -> &'a Value {
    let found: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == action && e["objectId"] == object)
        .collect();
    assert_eq!(found.len(), 1, "{action} on {object} in {log:#?}");
    found[0]
}

#[tokio::test]
async fn admin_changes_and_logins_are_audited_but_app_tokens_are_not() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let me = admin.get("/accounts/api/me").await.json();
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .client()
            .login("admin", "wrong-password")
            .await
            .status,
        401
    );
    assert_eq!(
        server
            .client()
            .login("nobody-here", "wrong-password")
            .await
            .status,
        401
    );

    let app = create_app(&admin, "Audited App").await;
    let id = app.client_id.clone();
    let item = format!("/accounts/api/connectedApplications/{id}");
    let renamed = admin
        .patch(&item, json!({"client_name": "Audited App 2"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let reset = admin
        .send(
            reqwest::Method::PATCH,
            &format!("{item}?resetSecret=true"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let secret = reset.json()["client_secret"].as_str().unwrap().to_owned();
    let scopes = json!([{"scope": "create:environment", "context_params": {"org": org}}]);
    set_scopes(&admin, &id, scopes).await;
    let before_tokens = log_of(&admin, &org).await.len();
    let mut fresh = app.clone();
    fresh.secret = secret;
    let as_app = server
        .client()
        .with_token(&app_token(&server.client(), &fresh).await);
    app_token(&server.client(), &fresh).await;

    let envs = format!("/accounts/api/organizations/{org}/environments");
    let env = admin
        .post(&envs, json!({"name": "Audit QA", "type": "sandbox"}))
        .await
        .json();
    let env_id = env["id"].as_str().unwrap().to_owned();
    let put = admin
        .put(&format!("{envs}/{env_id}"), json!({"name": "Audit QA 2"}))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(admin.delete(&format!("{envs}/{env_id}")).await.status, 204);
    let by_app = as_app
        .post(&envs, json!({"name": "App Env", "type": "sandbox"}))
        .await;
    assert_eq!(by_app.status, 201, "{}", by_app.body);
    let by_app_id = by_app.json()["id"].as_str().unwrap().to_owned();

    let bg = admin
        .post(
            "/accounts/api/organizations",
            json!({"name": "Audit BG", "parentOrganizationId": org}),
        )
        .await
        .json();
    let bg_id = bg["id"].as_str().unwrap().to_owned();
    let bg_path = format!("/accounts/api/organizations/{bg_id}");
    assert_eq!(
        admin
            .put(&bg_path, json!({"name": "Audit BG 2"}))
            .await
            .status,
        200
    );
    let bg_log = log_of(&admin, &bg_id).await;
    assert_eq!(admin.delete(&bg_path).await.status, 204);
    assert_eq!(admin.delete(&item).await.status, 204);

    let log = log_of(&admin, &org).await;
    // Logins: the success, and the refusal of a known user; unknown names are not recorded.
    let logins: Vec<&Value> = log.iter().filter(|e| e["action"] == "user.login").collect();
    assert_eq!(logins.len(), 2, "{logins:#?}");
    let ok = logins[0];
    assert_eq!(
        (ok["success"].clone(), ok["userId"].clone()),
        (json!(true), json!(admin_id))
    );
    assert_eq!(ok["objectType"], "user");
    assert_eq!(ok["objectId"], admin_id.as_str());
    assert_eq!(ok["sourceAddress"], "127.0.0.1");
    assert_eq!(ok["payload"]["username"], "admin");
    assert_eq!(logins[1]["success"], false);
    assert_eq!(logins[1]["payload"]["reason"], "invalid_credentials");

    let created = only(&log, "connected_app.created", &id);
    assert_eq!(created["userId"], admin_id.as_str());
    assert_eq!(created["clientId"], Value::Null);
    assert_eq!(created["objectType"], "connected_app");
    assert_eq!(created["payload"]["name"], "Audited App");
    assert_eq!(created["sourceAddress"], "127.0.0.1");
    let updated = only(&log, "connected_app.updated", &id);
    assert_eq!(updated["payload"]["fields"], json!(["client_name"]));
    assert_eq!(
        only(&log, "connected_app.secret_reset", &id)["payload"]["generated"],
        true
    );
    let scoped = only(&log, "connected_app.scopes_changed", &id);
    assert_eq!(scoped["payload"]["mode"], "replace");
    assert_eq!(
        scoped["payload"]["scopes"][0]["scope"],
        "create:environment"
    );
    assert_eq!(scoped["payload"]["scopes"][0]["org"], org.as_str());
    only(&log, "connected_app.deleted", &id);
    assert!(
        !log.iter().any(|e| e.to_string().contains(&fresh.secret)),
        "no secret in the log"
    );

    assert_eq!(
        only(&log, "environment.created", &env_id)["payload"]["name"],
        "Audit QA"
    );
    let env_renamed = only(&log, "environment.updated", &env_id);
    assert_eq!(env_renamed["payload"]["name"], "Audit QA 2");
    assert_eq!(env_renamed["payload"]["previousName"], "Audit QA");
    only(&log, "environment.deleted", &env_id);
    let app_made = only(&log, "environment.created", &by_app_id);
    assert_eq!(
        app_made["clientId"],
        id.as_str(),
        "an app's own change names the app"
    );
    assert_eq!(app_made["userId"], Value::Null);

    assert_eq!(
        only(&log, "organization.created", &bg_id)["payload"]["parentId"],
        org.as_str()
    );
    assert_eq!(
        only(&log, "organization.deleted", &bg_id)["payload"]["name"],
        "Audit BG 2"
    );
    let bg_updated = only(&bg_log, "organization.updated", &bg_id);
    assert_eq!(bg_updated["organizationId"], bg_id.as_str());
    assert_eq!(bg_updated["payload"]["fields"], json!(["name"]));

    // The two client_credentials tokens are audited by the group-commit
    // writer: `token.issued` summaries (one per batch, app and address) whose
    // counts add up to 2, before the environment created after them.
    let after = &log[before_tokens..];
    let env_at = after
        .iter()
        .position(|e| e["action"] == "environment.created")
        .expect("environment.created");
    let issued = &after[..env_at];
    assert!(!issued.is_empty(), "no token.issued summary: {after:#?}");
    let mut total = 0;
    for event in issued {
        assert_eq!(event["action"], "token.issued", "{event}");
        assert_eq!(event["objectId"], fresh.client_id.as_str(), "{event}");
        assert_eq!(event["clientId"], fresh.client_id.as_str(), "{event}");
        assert_eq!(
            event["payload"]["grant_type"], "client_credentials",
            "{event}"
        );
        assert!(event["sourceAddress"].is_string(), "{event}");
        total += event["payload"]["count"].as_u64().expect("count");
    }
    assert_eq!(total, 2, "{issued:#?}");
}

/// Runs `keyhouse audit export` on the server's database.
fn export(server: &TestServer, args: &[&str]) -> std::process::Output {
    let mut cmd = server.command();
    cmd.arg("audit").arg("export").args(args);
    cmd.stdin(std::process::Stdio::null());
    cmd.output().expect("run keyhouse audit export")
}

#[tokio::test]
async fn export_writes_the_query_entries_as_json_lines() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    for name in ["Export A", "Export B", "Export C"] {
        create_app(&admin, name).await;
    }
    let api = log_of(&admin, &org).await;
    assert!(api.len() >= 4, "{api:#?}");

    let out = export(&server, &["--org", &org]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines, api, "the same entries as the API, oldest first");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("exported {} audit events", api.len())),
        "{stderr}"
    );

    let since = api[2]["timestamp"].as_str().unwrap();
    let file = server.data_path().join("audit.jsonl");
    let out = export(
        &server,
        &[
            "--org",
            "Keyhouse",
            "--since",
            since,
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    let got: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = |e: &Value| e["timestamp"].as_str().unwrap().to_owned();
    let expected: Vec<Value> = api
        .iter()
        .filter(|e| at(e).as_str() >= since)
        .cloned()
        .collect();
    assert_eq!(got, expected);
    let until = export(&server, &["--org", &org, "--until", "1000"]);
    assert!(
        until.status.success() && until.stdout.is_empty(),
        "{until:?}"
    );

    for bad in [
        vec!["--org", "No Such Org"],
        vec!["--org", &uuid::Uuid::new_v4().to_string()],
        vec!["--org", &org, "--since", "last week"],
    ] {
        let out = export(&server, &bad);
        assert!(!out.status.success(), "{bad:?}: {out:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[tokio::test]
async fn events_past_retention_are_purged_by_the_server() {
    let mut server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let now = now_ms();
    let event = |at: i64, object: &str| Seed {
        at,
        org: org.clone(),
        action: "seed.created",
        object_type: "seed_app",
        object_id: object.to_owned(),
        user_id: None,
        client_id: None,
    };
    seed(
        &server,
        &[
            event(now - 400 * DAY_MS, "ancient"),
            event(now - 300 * DAY_MS, "recent"),
        ],
    )
    .await;
    let seeded = |c: Client, org: String| async move {
        field(
            &entries(&query(&c, &org, "", json!({"actions": ["seed.created"]})).await),
            "objectId",
        )
    };
    assert_eq!(
        seeded(admin.clone(), org.clone()).await,
        vec!["recent", "ancient"]
    );

    // The purger runs when the server starts, then every minute.
    server.restart().await;
    let admin = server.client().logged_in("admin", ADMIN_PASSWORD).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = seeded(admin.clone(), org.clone()).await;
        if left == vec!["recent"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not purged: {left:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // The retention is configurable and validated.
    let mut bad = server.command();
    bad.env("KEYHOUSE_AUDIT_RETENTION_DAYS", "0").arg("migrate");
    let out = bad.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit_retention_days"),
        "{out:?}"
    );
}

#[tokio::test]
async fn revocation_and_logout_are_audited() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let org = admin.root_org_id().await;
    let app = create_app(&admin, "Audited revoker").await;
    let token = app_token(&server.client(), &app).await;
    let client = server.client();
    let revoked = client
        .run(
            client
                .raw(reqwest::Method::POST, "/accounts/api/v2/oauth2/revoke")
                .basic_auth(&app.client_id, Some(&app.secret))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let user = server.client().logged_in("admin", ADMIN_PASSWORD).await;
    let out = user
        .send(
            reqwest::Method::POST,
            "/accounts/api/logout",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);

    let log = log_of(&admin, &org).await;
    let revoke = log
        .iter()
        .find(|e| e["action"] == "token.revoked")
        .unwrap_or_else(|| panic!("no token.revoked in {log:#?}"));
    assert_eq!(revoke["clientId"], app.client_id.as_str());
    assert!(revoke["sourceAddress"].is_string(), "{revoke}");
    let logout = log
        .iter()
        .find(|e| e["action"] == "token.logout")
        .unwrap_or_else(|| panic!("no token.logout in {log:#?}"));
    assert!(logout["userId"].is_string(), "{logout}");
    // Neither event names the token itself.
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&token), "a token in the audit log");
}
