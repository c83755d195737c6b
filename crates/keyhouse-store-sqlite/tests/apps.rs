//! SQLite specifics of connected-app storage beyond the shared conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyhouse_core::access::{
    Audience, ConnectedApp, EnvType, Environment, GrantType, Organization, SecretHash, User,
};
use keyhouse_core::authn::token::{mint, AccessTokenRecord};
use keyhouse_core::ids::{generate_client_id, EnvId, OrgId, UserId};
use keyhouse_core::store::{AppStore, OrganizationStore, StoreError, TokenStore};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// A migrated store with one root organization, its owner and one app named "Deploy Bot".
async fn seeded() -> (tempfile::TempDir, SqliteStore, ConnectedApp) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("keyhouse.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (org_id, owner_id) = (OrgId::generate(), UserId::generate());
    let org = Organization {
        id: org_id,
        name: "Acme".to_owned(),
        client_id: generate_client_id(),
        parent_id: None,
        root_id: org_id,
        owner_id,
        domain: None,
        session_timeout_minutes: 60,
        entitlements: serde_json::json!({}),
        properties: serde_json::json!({}),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    let owner = User {
        id: owner_id,
        org_id,
        username: "owner".to_owned(),
        first_name: "A".to_owned(),
        last_name: "B".to_owned(),
        email: "a@example.com".to_owned(),
        phone_number: None,
        password_hash: None,
        enabled: true,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        last_login: None,
    };
    let env = Environment {
        id: EnvId::generate(),
        org_id,
        name: "Sandbox".to_owned(),
        env_type: EnvType::Sandbox,
        client_id: generate_client_id(),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    store
        .insert_root_organization(&org, &[env], &owner)
        .await
        .unwrap();
    let app = ConnectedApp {
        client_id: generate_client_id(),
        secret_hash: SecretHash([3; 32]),
        name: "Deploy Bot".to_owned(),
        org_id,
        owner_user_id: owner_id,
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        public_keys: vec![],
        scopes: vec![],
        audience: Audience::Internal,
        client_uri: None,
        policy_uri: None,
        enabled: true,
        created_at: Timestamp(2),
        updated_at: Timestamp(2),
        secret_updated_at: Timestamp(2),
        public_client: false,
    };
    store.insert_app(&app, &[], &[]).await.unwrap();
    (dir, store, app)
}

/// Runs one raw statement against the store's file, as tampering would.
async fn tamper(dir: &tempfile::TempDir, sql: &str) {
    let options = SqliteConnectOptions::new().filename(dir.path().join("keyhouse.db"));
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn name_clash_names_the_app() {
    let (_dir, store, app) = seeded().await;
    let twin = ConnectedApp {
        client_id: generate_client_id(),
        name: "DEPLOY BOT".to_owned(),
        ..app
    };
    match store.insert_app(&twin, &[], &[]).await {
        Err(StoreError::Conflict(msg)) => assert_eq!(
            msg,
            "A connected app named 'DEPLOY BOT' already exists in this organization"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_grant_or_audience_is_corrupt() {
    let (dir, store, app) = seeded().await;
    tamper(
        &dir,
        "UPDATE connected_apps SET grant_types = '[\"telepathy\"]'",
    )
    .await;
    let found = store.find_app(&app.client_id).await;
    assert!(matches!(found, Err(StoreError::Corrupt(_))), "{found:?}");

    tamper(
        &dir,
        "UPDATE connected_apps SET grant_types = '[\"password\"]'",
    )
    .await;
    assert!(store.find_app(&app.client_id).await.unwrap().is_some());
    // The CHECK constraint guards audience; bypass it as a hand edit could.
    tamper(
        &dir,
        "PRAGMA ignore_check_constraints = ON; UPDATE connected_apps SET audience = 'martians'",
    )
    .await;
    let found = store.find_app(&app.client_id).await;
    assert!(matches!(found, Err(StoreError::Corrupt(_))), "{found:?}");
}

#[tokio::test]
async fn replacing_scopes_of_a_missing_app_is_not_found() {
    let (_dir, store, _app) = seeded().await;
    assert!(matches!(
        store.replace_app_scopes("missing", &[], &[]).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_token_needs_a_user_or_an_app() {
    let (_dir, store, app) = seeded().await;
    let now = Timestamp(1_000);
    let orphan = AccessTokenRecord {
        hash: mint().hash,
        user_id: None,
        client_id: None,
        org_id: app.org_id,
        created_at: now,
        expires_at: now.plus_minutes(5),
        scope: None,
    };
    assert!(store.insert_token(&orphan).await.is_err());
    assert!(store.find_token(&orphan.hash).await.unwrap().is_none());
}
