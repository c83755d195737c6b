//! Token expiry with a manual clock: core + the SQLite store, in process, no sleeping.

use std::sync::Arc;

use keyhouse_core::authn::password::PasswordPolicy;
use keyhouse_core::clock::ManualClock;
use keyhouse_core::service::{AdminCredentials, CoreSettings};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_core::{CoreError, Keyhouse};
use keyhouse_store_sqlite::SqliteStore;

#[tokio::test]
async fn tokens_expire_after_the_organization_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("k.db")).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let mut settings = CoreSettings::new("http://127.0.0.1:1");
    settings.password_policy = PasswordPolicy {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let keyhouse = Keyhouse::start(Arc::new(store), clock.clone(), settings)
        .await
        .unwrap();
    keyhouse
        .bootstrap(
            "Acme",
            AdminCredentials {
                username: "admin".into(),
                password: Some("long-enough-password".into()),
            },
        )
        .await
        .unwrap();
    let issued = keyhouse
        .login("admin", "long-enough-password", None)
        .await
        .unwrap();
    assert_eq!(issued.expires_in_secs, 3600);
    clock.advance_millis(59 * 60_000);
    assert!(keyhouse.authenticate(&issued.access_token).await.is_ok());
    clock.advance_millis(60_000);
    assert!(matches!(
        keyhouse.authenticate(&issued.access_token).await,
        Err(CoreError::InvalidToken)
    ));
    assert!(keyhouse.purge_expired().await.unwrap() >= 1);
}
