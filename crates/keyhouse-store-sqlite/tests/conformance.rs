//! The shared storage conformance suite, run against a fresh SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyhouse_core::conformance;
use keyhouse_core::store::Store;
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
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let (_dir, store) = fresh().await;
            conformance::$name(store).await;
        }
    )*};
}

conformance_tests!(
    root_organization_roundtrip,
    root_organization_is_atomic,
    users_and_memberships,
    business_group_lifecycle,
    environment_lifecycle,
    token_lifecycle,
    app_lifecycle,
    app_tokens,
);
