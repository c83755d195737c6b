//! PostgreSQL specifics of connected-app storage beyond the shared conformance
//! suite: cross-node notifications, conflict messages, corrupt rows.
//!
//! Like `conformance.rs`, runs against `KEYHOUSE_TEST_DATABASE_URL` and is
//! skipped when it is unset (unless `KEYHOUSE_REQUIRE_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use keyhouse_core::access::{
    Audience, ConnectedApp, GrantType, Organization, ScopeGrant, SecretHash, User,
};
use keyhouse_core::ids::{generate_client_id, OrgId, UserId};
use keyhouse_core::store::{
    AppStore, Invalidation, InvalidationReceiver, OrganizationStore, Store, StoreError, TokenStore,
};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_postgres::PostgresStore;

/// The test database URL, or `None` (skip) when it is unset and not required.
fn database_url() -> Option<String> {
    let url = std::env::var("KEYHOUSE_TEST_DATABASE_URL").ok();
    let required = std::env::var("KEYHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(
        url.is_some() || !required,
        "KEYHOUSE_REQUIRE_POSTGRES=1 but KEYHOUSE_TEST_DATABASE_URL is not set"
    );
    if url.is_none() {
        eprintln!("skipped: KEYHOUSE_TEST_DATABASE_URL not set");
    }
    url
}

/// A migrated store holding a fresh root organization with one app ("Deploy Bot").
async fn seeded() -> Option<(String, PostgresStore, ConnectedApp)> {
    let url = database_url()?;
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (org_id, owner_id) = (OrgId::generate(), UserId::generate());
    let org = Organization {
        id: org_id,
        name: "Apps".to_owned(),
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
        username: format!("apps-{owner_id}"),
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
    store
        .insert_root_organization(&org, &[], &owner)
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
    Some((url, store, app))
}

/// The next notification about `client_id`, skipping those of concurrent tests.
async fn next_change_of(rx: &mut InvalidationReceiver, client_id: &str) -> Invalidation {
    let wanted = Invalidation::AppChanged(client_id.to_owned());
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Some(change) if change == wanted => return change,
                Some(Invalidation::AppChanged(other)) if other.starts_with("ghost-") => {
                    panic!("a failed change notified: {other}")
                }
                Some(_) => continue,
                None => panic!("the listener stopped"),
            }
        }
    })
    .await
    .expect("no notification within 10 s")
}

#[tokio::test]
async fn app_changes_notify_every_node() {
    let Some((url, store, mut app)) = seeded().await else {
        return;
    };
    // A second node on the same database: it must hear what the first one changes.
    let other = PostgresStore::connect(&url).await.unwrap();
    let mut rx = other.subscribe_invalidations().await.unwrap().unwrap();

    let mut ghost = app.clone();
    ghost.client_id = format!("ghost-{}", generate_client_id());
    assert!(matches!(
        store.update_app(&ghost, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.replace_app_scopes(&ghost.client_id, &[], &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_app(&ghost.client_id, &[]).await,
        Err(StoreError::NotFound)
    ));

    app.enabled = false;
    store.update_app(&app, &[]).await.unwrap();
    next_change_of(&mut rx, &app.client_id).await;
    let scope = ScopeGrant {
        scope: "profile".to_owned(),
        org: None,
        env: None,
    };
    store
        .replace_app_scopes(&app.client_id, &[scope], &[])
        .await
        .unwrap();
    next_change_of(&mut rx, &app.client_id).await;
    assert_eq!(store.delete_tokens_of_app(&app.client_id).await.unwrap(), 0);
    next_change_of(&mut rx, &app.client_id).await;
    store.delete_app(&app.client_id, &[]).await.unwrap();
    next_change_of(&mut rx, &app.client_id).await;
}

#[tokio::test]
async fn name_clash_names_the_app() {
    let Some((_url, store, app)) = seeded().await else {
        return;
    };
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

/// An unknown grant type in the database is reported as corrupt data. (Audience
/// is guarded by a CHECK constraint, so it cannot be tampered with so easily.)
#[tokio::test]
async fn unknown_grant_type_is_corrupt() {
    let Some((url, store, app)) = seeded().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let set_grants = |raw: &'static str| {
        sqlx::query("UPDATE connected_apps SET grant_types = $2::jsonb WHERE client_id = $1")
            .bind(app.client_id.clone())
            .bind(raw)
            .execute(&pool)
    };
    set_grants("[\"telepathy\"]").await.unwrap();
    let found = store.find_app(&app.client_id).await;
    assert!(matches!(found, Err(StoreError::Corrupt(_))), "{found:?}");
    set_grants("{\"not\": \"a list\"}").await.unwrap();
    let found = store.find_app(&app.client_id).await;
    assert!(matches!(found, Err(StoreError::Corrupt(_))), "{found:?}");
    set_grants("[\"password\"]").await.unwrap();
    let found = store.find_app(&app.client_id).await.unwrap().unwrap();
    assert_eq!(found.grant_types, vec![GrantType::Password]);
}
