//! Fresh PostgreSQL databases for tests when `KEYHOUSE_TEST_BACKEND=postgres`.

use sqlx::{Connection, Executor, PgConnection};

/// Which backend this test run targets.
pub fn backend() -> String {
    std::env::var("KEYHOUSE_TEST_BACKEND").unwrap_or_else(|_| "sqlite".to_owned())
}

/// `None` for SQLite; for PostgreSQL, the URL of a newly created empty database.
/// Fails (never skips) when PostgreSQL is requested but no server is given.
pub async fn fresh_database_url() -> Option<String> {
    match backend().as_str() {
        "sqlite" => None,
        "postgres" => {
            let admin_url = std::env::var("KEYHOUSE_TEST_DATABASE_URL").expect(
                "KEYHOUSE_TEST_BACKEND=postgres needs KEYHOUSE_TEST_DATABASE_URL (scripts/test.sh sets it)",
            );
            let name = format!("kh_e2e_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::connect(&admin_url)
                .await
                .expect("connect to the PostgreSQL test server");
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let base = admin_url.split('?').next().unwrap_or(&admin_url);
            let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
            Some(format!("{prefix}/{name}"))
        }
        other => panic!("unknown KEYHOUSE_TEST_BACKEND '{other}' (sqlite or postgres)"),
    }
}
