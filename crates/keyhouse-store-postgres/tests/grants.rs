//! PostgreSQL specifics of user-grant storage beyond the shared conformance
//! suite: revocations that delete access tokens tell every node at once.
//!
//! Like `conformance.rs`, runs against `KEYHOUSE_TEST_DATABASE_URL` and is
//! skipped when it is unset (unless `KEYHOUSE_REQUIRE_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use keyhouse_core::access::{Audience, ConnectedApp, GrantType, Organization, SecretHash, User};
use keyhouse_core::authn::token::{mint, AccessTokenRecord};
use keyhouse_core::ids::{generate_client_id, OrgId, UserId};
use keyhouse_core::oauth::records::{Consent, RefreshTokenRecord};
use keyhouse_core::store::{
    AppStore, GrantStore, Invalidation, InvalidationReceiver, OrganizationStore, Store,
};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_postgres::PostgresStore;

const NOW: Timestamp = Timestamp(1_800_000_000_000);

/// A migrated store holding a fresh root organization, its owner and one app.
async fn seeded() -> Option<(String, PostgresStore, User, ConnectedApp)> {
    let url = std::env::var("KEYHOUSE_TEST_DATABASE_URL").ok();
    let required = std::env::var("KEYHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(
        url.is_some() || !required,
        "KEYHOUSE_TEST_DATABASE_URL is not set"
    );
    let Some(url) = url else {
        eprintln!("skipped: KEYHOUSE_TEST_DATABASE_URL not set");
        return None;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (org_id, owner_id) = (OrgId::generate(), UserId::generate());
    let org = Organization {
        id: org_id,
        name: "Grants".to_owned(),
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
        username: format!("grants-{owner_id}"),
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
        name: "Portal".to_owned(),
        org_id,
        owner_user_id: owner_id,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example.com/cb".to_owned()],
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
    Some((url, store, owner, app))
}

/// Gives the owner a consent, an access token and a refresh token of `family`.
async fn grant(store: &PostgresStore, owner: &User, app: &ConnectedApp, family: &str) {
    let consent = Consent {
        user_id: owner.id,
        client_id: app.client_id.clone(),
        scope: "openid".to_owned(),
        created_at: NOW,
        updated_at: NOW,
        last_used_at: None,
    };
    store.upsert_consent(&consent, &[]).await.unwrap();
    let access = AccessTokenRecord {
        hash: mint().hash,
        user_id: Some(owner.id),
        client_id: Some(app.client_id.clone()),
        org_id: owner.org_id,
        created_at: NOW,
        expires_at: NOW.plus_minutes(60),
        scope: Some("openid".to_owned()),
    };
    let refresh = RefreshTokenRecord {
        hash: mint().hash,
        family_id: family.to_owned(),
        client_id: app.client_id.clone(),
        user_id: owner.id,
        scope: "openid".to_owned(),
        auth_time: NOW,
        created_at: NOW,
        expires_at: NOW.plus_minutes(60),
        rotated_at: None,
    };
    store
        .insert_user_tokens(&access, Some(&refresh), &[])
        .await
        .unwrap();
}

/// The next notification about `client_id`, skipping those of concurrent tests.
async fn next_change_of(rx: &mut InvalidationReceiver, client_id: &str) {
    let wanted = Invalidation::AppChanged(client_id.to_owned());
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Some(change) if change == wanted => return,
                Some(_) => continue,
                None => panic!("the listener stopped"),
            }
        }
    })
    .await
    .expect("no notification within 10 s")
}

#[tokio::test]
async fn revocations_notify_every_node() {
    let Some((url, store, owner, app)) = seeded().await else {
        return;
    };
    let other = PostgresStore::connect(&url).await.unwrap();
    let mut rx = other.subscribe_invalidations().await.unwrap().unwrap();

    grant(&store, &owner, &app, "family-1").await;
    assert!(store
        .revoke_consent(owner.id, &app.client_id, &[])
        .await
        .unwrap());
    next_change_of(&mut rx, &app.client_id).await;

    grant(&store, &owner, &app, "family-2").await;
    assert_eq!(
        store
            .revoke_consents_of_app(&app.client_id, &[])
            .await
            .unwrap(),
        1
    );
    next_change_of(&mut rx, &app.client_id).await;

    let family = format!("family-{}", generate_client_id());
    grant(&store, &owner, &app, &family).await;
    assert_eq!(store.revoke_refresh_family(&family, &[]).await.unwrap(), 1);
    next_change_of(&mut rx, &app.client_id).await;
}
