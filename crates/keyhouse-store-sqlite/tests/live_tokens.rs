//! `list_live_tokens` and `for_each_live_token` read pages that SQLite renders as JSON (issue 4: start-up
//! with a million live tokens): every field must come back exactly, across
//! page boundaries, whatever a scope string holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyhouse_core::access::{Audience, ConnectedApp, GrantType, Organization, SecretHash, User};
use keyhouse_core::authn::token::{mint, AccessTokenRecord};
use keyhouse_core::ids::{generate_client_id, OrgId, UserId};
use keyhouse_core::store::{AppStore, OrganizationStore, TokenStore};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_sqlite::SqliteStore;

#[tokio::test]
async fn live_tokens_come_back_exactly_across_pages() {
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
    store
        .insert_root_organization(&org, &[], &owner)
        .await
        .unwrap();
    let app = ConnectedApp {
        client_id: generate_client_id(),
        secret_hash: SecretHash([7; 32]),
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
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        secret_updated_at: Timestamp(1),
        public_client: false,
    };
    store.insert_app(&app, &[], &[]).await.unwrap();

    let now = Timestamp(1_800_000_000_000);
    let scopes = [
        "openid profile",
        "quote\" back\\slash / ünïcödé 🙂\n\ttab",
        "",
        "[\"not\", \"json\"]",
    ];
    // More than two pages of 4096, with expired tokens in between.
    let mut all = Vec::new();
    for i in 0..9_000_usize {
        all.push(AccessTokenRecord {
            hash: mint().hash,
            user_id: (i % 3 > 0).then_some(owner_id),
            client_id: (i % 3 != 1).then(|| app.client_id.clone()),
            org_id,
            created_at: Timestamp(now.0 - 1_000 - i as i64),
            // Every seventh expires at `now` exactly: not live.
            expires_at: Timestamp(match i % 7 {
                0 => now.0,
                _ => now.0 + 1 + i as i64,
            }),
            scope: (i % 3 == 2).then(|| scopes[i % scopes.len()].to_owned()),
        });
    }
    for batch in all.chunks(1_000) {
        store.insert_tokens(batch).await.unwrap();
    }
    let mut expected: Vec<_> = all.into_iter().filter(|t| t.expires_at.0 > now.0).collect();
    let mut listed = store.list_live_tokens(now).await.unwrap();
    expected.sort_by_key(|t| t.hash.0);
    listed.sort_by_key(|t| t.hash.0);
    assert_eq!(listed.len(), expected.len());
    assert_eq!(listed, expected);
    let mut streamed = Vec::new();
    store
        .for_each_live_token(now, &mut |t| streamed.push(t))
        .await
        .unwrap();
    streamed.sort_by_key(|t| t.hash.0);
    assert_eq!(streamed, expected);
    assert!(store
        .list_live_tokens(Timestamp(i64::MAX))
        .await
        .unwrap()
        .is_empty());
}
