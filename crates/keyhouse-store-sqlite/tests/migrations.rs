//! Schema upgrades keep existing data: a database created by an older release
//! is migrated in place on start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::str::FromStr;

use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::TokenStore;
use keyhouse_store_sqlite::SqliteStore;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// Applies only the first migration (the 0001 schema) to the database at `db`,
/// from a copy of that one file so that its checksum matches the embedded one.
async fn migrate_to_0001(db: &Path, scratch: &Path) -> sqlx::SqlitePool {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/0001_foundation.sql");
    let only_first = scratch.join("migrations");
    std::fs::create_dir(&only_first).unwrap();
    std::fs::copy(&source, only_first.join("0001_foundation.sql")).unwrap();
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    Migrator::new(only_first.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

#[tokio::test]
async fn migration_0002_keeps_user_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyhouse.db");
    let pool = migrate_to_0001(&db, dir.path()).await;

    let (org, user) = (OrgId::generate(), UserId::generate());
    sqlx::query(
        "INSERT INTO organizations (id, name, client_id, parent_id, root_id, owner_id, domain, \
         session_timeout_minutes, entitlements, properties, created_at, updated_at) \
         VALUES ($1, 'Old', 'c0', NULL, $1, $2, NULL, 60, '{}', '{}', 1, 1)",
    )
    .bind(org.to_string())
    .bind(user.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO users (id, org_id, username, username_key, first_name, last_name, email, \
         enabled, created_at, updated_at) VALUES ($1, $2, 'Old', 'old', 'A', 'B', 'a@b.c', 1, 1, 1)",
    )
    .bind(user.to_string())
    .bind(org.to_string())
    .execute(&pool)
    .await
    .unwrap();
    let hash = TokenHash([5; 32]);
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, user_id, org_id, created_at, expires_at) \
         VALUES ($1, $2, $3, 10, 20)",
    )
    .bind(hash.0.as_slice())
    .bind(user.to_string())
    .bind(org.to_string())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::open(&db).await.unwrap();
    store.migrate().await.unwrap();
    let token = store.find_token(&hash).await.unwrap().unwrap();
    assert_eq!(token.user_id, Some(user));
    assert_eq!(token.client_id, None);
    assert_eq!(token.org_id, org);
    assert_eq!(
        token.scope, None,
        "0003 adds the scope column, empty for old tokens"
    );
    assert_eq!((token.created_at.0, token.expires_at.0), (10, 20));
    assert_eq!(
        store.purge_expired_tokens(token.expires_at).await.unwrap(),
        1
    );

    // The rebuilt table has its indexes back.
    let pool = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(&db))
        .await
        .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access_tokens' \
         AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "access_tokens_client",
            "access_tokens_expiry",
            "access_tokens_user_client"
        ]
    );
}
