//! The shared storage conformance suite, run against a fresh SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyhouse_core::store::Store;
use keyhouse_core::{
    conformance, conformance_grants, conformance_idp, conformance_mfa, conformance_users,
};
use keyhouse_store_sqlite::SqliteStore;

async fn fresh() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("keyhouse.db"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, Arc::new(store))
}

macro_rules! conformance_tests {
    ($suite:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_dir, store) = fresh().await;
            $suite::$name(store).await;
        }
    )*};
}

conformance_tests!(
    conformance:
    root_organization_roundtrip,
    root_organization_is_atomic,
    users_and_memberships,
    business_group_lifecycle,
    environment_lifecycle,
    token_lifecycle,
    app_lifecycle,
    app_tokens,
);

conformance_tests!(
    conformance_grants:
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

conformance_tests!(
    conformance_mfa:
    mfa_enrollment,
    mfa_challenge_completion,
    mfa_step_single_use,
    mfa_reset_and_policy,
    purge_expired_mfa_challenges,
);

conformance_tests!(
    conformance_idp:
    identity_provider_lifecycle,
    federated_users,
    federation_state_single_use,
    organization_domains,
);

conformance_tests!(
    conformance_users:
    users_list_search_and_paging,
    users_update_and_disable,
    users_delete,
);
