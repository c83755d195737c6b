//! Audit-log fixtures: events seeded straight into the server's database
//! (chosen instants, users and objects), the query endpoint, and a
//! connected app that may read the log.

use serde_json::{json, Value};

use super::apps::{app_token, create_app, set_scopes};
use super::http::{Client, Resp};
use super::TestServer;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// `POST /audit/v2/organizations/{org}/query{params}` with a JSON body.
pub async fn query(client: &Client, org: &str, params: &str, body: Value) -> Resp {
    client
        .post(
            &format!("/audit/v2/organizations/{org}/query{params}"),
            body,
        )
        .await
}

/// The entries of a successful answer (asserts 200).
pub fn entries(resp: &Resp) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["data"].as_array().expect("data").clone()
}

/// One field of every entry, in order.
pub fn field(entries: &[Value], name: &str) -> Vec<String> {
    entries
        .iter()
        .map(|e| e[name].as_str().unwrap_or("<null>").to_owned())
        .collect()
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

/// An event to seed.
#[derive(Debug, Clone)]
pub struct Seed {
    pub at: i64,
    pub org: String,
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
}

/// Writes `seeds` in order (so their storage sequence follows it) straight
/// into the server's database; returns their ids.
pub async fn seed(server: &TestServer, seeds: &[Seed]) -> Vec<String> {
    use sqlx::Connection;
    let ids: Vec<String> = seeds
        .iter()
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let detail = json!({"seeded": true}).to_string();
    match server.database_url() {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            for (s, id) in seeds.iter().zip(&ids) {
                sqlx::query(
                    "INSERT INTO audit_events (id, at, org_id, actor_user_id, actor_client_id, \
                     action, object_type, object_id, source, success, detail) VALUES \
                     ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6, $7, $8, '192.0.2.7', true, $9::jsonb)",
                )
                .bind(id)
                .bind(s.at)
                .bind(&s.org)
                .bind(&s.user_id)
                .bind(&s.client_id)
                .bind(s.action)
                .bind(s.object_type)
                .bind(&s.object_id)
                .bind(&detail)
                .execute(&mut conn)
                .await
                .expect("seed event");
            }
        }
        None => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(server.data_path().join("keyhouse.db"))
                .busy_timeout(std::time::Duration::from_secs(10));
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("open the SQLite file");
            for (s, id) in seeds.iter().zip(&ids) {
                sqlx::query(
                    "INSERT INTO audit_events (id, at, org_id, actor_user_id, actor_client_id, \
                     action, object_type, object_id, source, success, detail) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, '192.0.2.7', 1, $9)",
                )
                .bind(id)
                .bind(s.at)
                .bind(&s.org)
                .bind(&s.user_id)
                .bind(&s.client_id)
                .bind(s.action)
                .bind(s.object_type)
                .bind(&s.object_id)
                .bind(&detail)
                .execute(&mut conn)
                .await
                .expect("seed event");
            }
        }
    }
    ids
}

/// A client_credentials app holding `scopes` (scope names, each bound to
/// `org`), signed in with its own token.
pub async fn app_with(server: &TestServer, admin: &Client, org: &str, scopes: &[&str]) -> Client {
    app_and_id(server, admin, org, scopes).await.0
}

/// [`app_with`], and the app's client id.
pub async fn app_and_id(
    server: &TestServer,
    admin: &Client,
    org: &str,
    scopes: &[&str],
) -> (Client, String) {
    let app = create_app(admin, &format!("auditor-{}", uuid::Uuid::new_v4().simple())).await;
    let list: Vec<Value> = scopes
        .iter()
        .map(|s| json!({"scope": s, "context_params": {"org": org}}))
        .collect();
    set_scopes(admin, &app.client_id, Value::Array(list)).await;
    let client = server
        .client()
        .with_token(&app_token(&server.client(), &app).await);
    (client, app.client_id)
}
