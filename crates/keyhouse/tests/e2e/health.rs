//! `/healthz` and `/readyz`.

use crate::support::TestServer;

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let server = TestServer::start().await;
    let health = server.client().get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = server.client().get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    use sqlx::{Connection, Executor};
    let server = TestServer::start().await;
    let Some(url) = server.database_url() else {
        eprintln!("skipped on SQLite: the file cannot vanish under an open handle (runs in the PostgreSQL pass)");
        return;
    };
    let name = url.rsplit('/').next().unwrap().to_owned();
    let admin_url = std::env::var("KEYHOUSE_TEST_DATABASE_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    let ready = server.client().get("/readyz").await;
    ready.assert_error(503);
    assert_eq!(server.client().get("/healthz").await.status, 200);
    // Requests that need the database fail cleanly too: 503 or 401, never a 500.
    let login = server
        .client()
        .login("admin", crate::support::ADMIN_PASSWORD)
        .await;
    assert!(login.status == 503 || login.status == 401, "{}", login.body);
}
