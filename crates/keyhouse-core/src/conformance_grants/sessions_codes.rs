//! Conformance checks: sessions codes.

use super::*;

/// Browser sessions are found by hash and deleted idempotently.
pub async fn browser_sessions(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let session = BrowserSession {
        hash: mint().hash,
        user_id: t.owner.id,
        auth_time: T0,
        created_at: T0,
        expires_at: LATER,
    };
    store.insert_browser_session(&session).await.unwrap();
    assert_eq!(
        store.find_browser_session(&session.hash).await.unwrap(),
        Some(session.clone())
    );
    store.delete_browser_session(&session.hash).await.unwrap();
    store.delete_browser_session(&session.hash).await.unwrap();
    assert!(store
        .find_browser_session(&session.hash)
        .await
        .unwrap()
        .is_none());
}

/// A code is stored with its consent and audit events, and of 8 concurrent
/// redeemers exactly one wins; later attempts see `AlreadyUsed` (CG-01, CG-07).
pub async fn authorization_code_single_use(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let issued = code(t.owner.id, &app.client_id, &unique("fam"), LATER);
    let granted = consent(t.owner.id, &app.client_id, "openid", T0.0);
    store
        .insert_authorization_code(&issued, &granted, &[t.event("code.issued", T0)])
        .await
        .unwrap();
    assert_eq!(
        store
            .find_consent(t.owner.id, &app.client_id)
            .await
            .unwrap(),
        Some(granted)
    );
    assert_eq!(t.audit_total(&store).await, 1);

    let redeemers: Vec<_> = (0..8)
        .map(|i| {
            let (store, hash) = (store.clone(), issued.hash);
            tokio::spawn(async move {
                store
                    .redeem_authorization_code(&hash, Timestamp(T0.0 + i))
                    .await
            })
        })
        .collect();
    let mut redeemed = 0;
    for redeemer in redeemers {
        match redeemer.await.unwrap().unwrap() {
            CodeRedemption::Redeemed(found) => {
                redeemed += 1;
                assert_eq!(found, issued);
            }
            CodeRedemption::AlreadyUsed(found) => assert_eq!(found, issued),
            CodeRedemption::Unknown => panic!("the code was stored"),
        }
    }
    assert_eq!(redeemed, 1, "exactly one concurrent redeemer wins");
    assert_eq!(
        store
            .redeem_authorization_code(&issued.hash, T0)
            .await
            .unwrap(),
        CodeRedemption::AlreadyUsed(issued.clone())
    );
    assert_eq!(
        store
            .redeem_authorization_code(&mint().hash, T0)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
    // Expiry is the core's to judge: an expired, unused code is still handed back.
    let stale = code(
        t.owner.id,
        &app.client_id,
        &unique("fam"),
        Timestamp(T0.0 - 1),
    );
    let again = consent(t.owner.id, &app.client_id, "openid", T0.0);
    store
        .insert_authorization_code(&stale, &again, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_authorization_code(&stale.hash, T0)
            .await
            .unwrap(),
        CodeRedemption::Redeemed(stale)
    );
}
