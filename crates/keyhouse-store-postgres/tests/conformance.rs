//! Runs the shared storage conformance suite against PostgreSQL.
//!
//! The database comes from `KEYHOUSE_TEST_DATABASE_URL`. When it is unset the
//! tests fail if `KEYHOUSE_REQUIRE_POSTGRES=1` (CI), and otherwise print that
//! they were skipped, so `cargo test --workspace` works without PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyhouse_core::store::Store;
use keyhouse_core::{
    conformance, conformance_grants, conformance_idp, conformance_mfa, conformance_users,
};
use keyhouse_store_postgres::PostgresStore;

/// The test database URL, or `None` (skip) when it is unset and not required.
fn database_url() -> Option<String> {
    let Ok(url) = std::env::var("KEYHOUSE_TEST_DATABASE_URL") else {
        let required = std::env::var("KEYHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "KEYHOUSE_REQUIRE_POSTGRES=1 but KEYHOUSE_TEST_DATABASE_URL is not set: \
             point it at a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/postgres"
        );
        eprintln!("skipped: KEYHOUSE_TEST_DATABASE_URL not set");
        return None;
    };
    Some(url)
}

/// A migrated store, or `None` when PostgreSQL is not configured and not required.
async fn store() -> Option<Arc<dyn Store>> {
    let url = database_url()?;
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect to KEYHOUSE_TEST_DATABASE_URL");
    store.migrate().await.expect("migrate the test database");
    Some(Arc::new(store))
}

#[tokio::test]
async fn root_organization_roundtrip() {
    if let Some(store) = store().await {
        conformance::root_organization_roundtrip(store).await;
    }
}

#[tokio::test]
async fn root_organization_is_atomic() {
    if let Some(store) = store().await {
        conformance::root_organization_is_atomic(store).await;
    }
}

#[tokio::test]
async fn users_and_memberships() {
    if let Some(store) = store().await {
        conformance::users_and_memberships(store).await;
    }
}

#[tokio::test]
async fn business_group_lifecycle() {
    if let Some(store) = store().await {
        conformance::business_group_lifecycle(store).await;
    }
}

#[tokio::test]
async fn environment_lifecycle() {
    if let Some(store) = store().await {
        conformance::environment_lifecycle(store).await;
    }
}

#[tokio::test]
async fn token_lifecycle() {
    if let Some(store) = store().await {
        conformance::token_lifecycle(store).await;
    }
}

#[tokio::test]
async fn app_lifecycle() {
    if let Some(store) = store().await {
        conformance::app_lifecycle(store).await;
    }
}

#[tokio::test]
async fn app_tokens() {
    if let Some(store) = store().await {
        conformance::app_tokens(store).await;
    }
}

/// One test per check of the grant suite, each skipped like the ones above.
macro_rules! grant_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            if let Some(store) = store().await {
                conformance_grants::$name(store).await;
            }
        }
    )*};
}

grant_tests!(
    browser_sessions,
    authorization_code_single_use,
    consents_upsert_and_list,
    revoke_consent_of_one_pair,
    revoke_consents_of_app,
    user_tokens_and_scope,
    refresh_rotation_single_use,
    refresh_family_revocation,
    purge_expired_grants,
    assertion_single_use,
    deleting_app_removes_grants,
    signing_key_rotation,
    audit_log,
    audit_query_filters,
    audit_query_paging,
    audit_retention_purge,
    audited_changes_are_atomic,
);

/// One test per check of the MFA suite, each skipped like the ones above.
macro_rules! mfa_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            if let Some(store) = store().await {
                conformance_mfa::$name(store).await;
            }
        }
    )*};
}

mfa_tests!(
    mfa_enrollment,
    mfa_challenge_completion,
    mfa_step_single_use,
    mfa_reset_and_policy,
    purge_expired_mfa_challenges,
);

/// One test per check of the identity-provider suite, each skipped like the ones above.
macro_rules! idp_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            if let Some(store) = store().await {
                conformance_idp::$name(store).await;
            }
        }
    )*};
}

idp_tests!(
    identity_provider_lifecycle,
    federated_users,
    federation_state_single_use,
    organization_domains,
);

/// Migrating twice (a restart) is a no-op, and the store reports itself shared.
#[tokio::test]
async fn migrate_is_idempotent() {
    let Some(url) = database_url() else {
        return;
    };
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.is_shared());
    store.ping().await.unwrap();
}

/// Unique violations come back as conflicts whose message names what collided.
#[tokio::test]
async fn conflicts_name_what_collided() {
    use keyhouse_core::access::{EnvType, Environment, Organization, User};
    use keyhouse_core::ids::{generate_client_id, EnvId, OrgId, UserId};
    use keyhouse_core::store::StoreError;
    use keyhouse_core::time_fmt::Timestamp;

    let Some(store) = store().await else {
        return;
    };
    let org_id = OrgId::generate();
    let owner_id = UserId::generate();
    let org = Organization {
        id: org_id,
        name: "Conflicts".to_owned(),
        client_id: generate_client_id(),
        parent_id: None,
        root_id: org_id,
        owner_id,
        domain: Some(format!("d-{org_id}")),
        session_timeout_minutes: 60,
        entitlements: serde_json::json!({}),
        properties: serde_json::json!({}),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    let owner = User {
        id: owner_id,
        org_id,
        username: format!("Owner-{owner_id}"),
        first_name: "A".to_owned(),
        last_name: "B".to_owned(),
        email: "a@example.com".to_owned(),
        phone_number: Some("+1 555".to_owned()),
        password_hash: None,
        enabled: false,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        last_login: None,
    };
    let qa = Environment {
        id: EnvId::generate(),
        org_id,
        name: "QA".to_owned(),
        env_type: EnvType::Design,
        client_id: generate_client_id(),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    store
        .insert_root_organization(&org, std::slice::from_ref(&qa), &owner)
        .await
        .unwrap();
    assert_eq!(
        store.find_user(owner_id).await.unwrap(),
        Some(owner.clone())
    );

    let dup_env = Environment {
        id: EnvId::generate(),
        client_id: generate_client_id(),
        ..qa.clone()
    };
    match store.insert_environment(&dup_env, &[]).await {
        Err(StoreError::Conflict(msg)) => assert_eq!(
            msg,
            "An environment named 'QA' already exists in this organization"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let twin = User {
        id: UserId::generate(),
        ..owner.clone()
    };
    match store.insert_user(&twin, &[]).await {
        Err(StoreError::Conflict(msg)) => {
            assert_eq!(
                msg,
                format!("Username '{}' is already taken", owner.username)
            )
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let same_domain = Organization {
        id: OrgId::generate(),
        client_id: generate_client_id(),
        ..org.clone()
    };
    match store.insert_business_group(&same_domain, &[]).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("domain"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    // Missing rows: updates and deletes report NotFound.
    let ghost = Environment {
        id: EnvId::generate(),
        ..qa
    };
    assert!(matches!(
        store.update_environment(&ghost, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.record_login(UserId::generate(), Timestamp(2)).await,
        Err(StoreError::NotFound)
    ));
    // A root with users cannot be deleted out from under them.
    assert!(matches!(
        store.delete_organization(org_id, &[]).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn users_list_search_and_paging() {
    if let Some(store) = store().await {
        conformance_users::users_list_search_and_paging(store).await;
    }
}

#[tokio::test]
async fn users_update_and_disable() {
    if let Some(store) = store().await {
        conformance_users::users_update_and_disable(store).await;
    }
}

#[tokio::test]
async fn users_delete() {
    if let Some(store) = store().await {
        conformance_users::users_delete(store).await;
    }
}
