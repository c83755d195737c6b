//! Conformance checks: consents.

use super::*;

/// Upserting a consent replaces scope and `updated_at` but keeps `created_at`
/// and `last_used_at`; lists are most recently updated first.
pub async fn consents_upsert_and_list(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let (first, second) = (t.app(&store).await, t.app(&store).await);
    let other = t.user(&store).await;
    let original = consent(t.owner.id, &first.client_id, "openid", 100);
    store
        .upsert_consent(&original, &[t.event("consent.granted", T0)])
        .await
        .unwrap();
    let token = access(t.org.id, Some(t.owner.id), &first.client_id);
    store.insert_user_tokens(&token, None, &[]).await.unwrap();
    let widened = Consent {
        scope: "openid offline_access".to_owned(),
        created_at: Timestamp(300),
        updated_at: Timestamp(300),
        ..original.clone()
    };
    store.upsert_consent(&widened, &[]).await.unwrap();
    let expected = Consent {
        created_at: Timestamp(100),
        last_used_at: Some(T0),
        ..widened
    };
    assert_eq!(
        store
            .find_consent(t.owner.id, &first.client_id)
            .await
            .unwrap(),
        Some(expected.clone())
    );
    let newer = consent(t.owner.id, &second.client_id, "openid", 200);
    store.upsert_consent(&newer, &[]).await.unwrap();
    let by_other = consent(other.id, &first.client_id, "openid", 50);
    store.upsert_consent(&by_other, &[]).await.unwrap();

    let mine = store.list_consents_of_user(t.owner.id).await.unwrap();
    assert_eq!(mine, vec![expected.clone(), newer]);
    let of_app = store.list_consents_of_app(&first.client_id).await.unwrap();
    assert_eq!(of_app, vec![expected, by_other]);
    assert!(store
        .find_consent(other.id, &second.client_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(t.audit_total(&store).await, 1);
}

/// Revoking one user's consent removes that pair's tokens, refresh tokens and
/// unused codes, and nothing of other users or apps.
pub async fn revoke_consent_of_one_pair(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let (app, other_app) = (t.app(&store).await, t.app(&store).await);
    let (me, other) = (t.owner.id, t.user(&store).await.id);
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for (user, client, doomed) in [
        (me, &app.client_id, true),
        (me, &other_app.client_id, false),
        (other, &app.client_id, false),
    ] {
        let family = unique("fam");
        let unused = code(user, client, &family, LATER);
        let granted = consent(user, client, "openid", T0.0);
        store
            .insert_authorization_code(&unused, &granted, &[])
            .await
            .unwrap();
        let token = access(t.org.id, Some(user), client);
        let refresh = refresh(user, client, &family);
        store
            .insert_user_tokens(&token, Some(&refresh), &[])
            .await
            .unwrap();
        let rows = (token, refresh, unused);
        if doomed {
            gone.push(rows);
        } else {
            kept.push(rows);
        }
    }
    let own = access(t.org.id, None, &app.client_id);
    store.insert_token(&own).await.unwrap();
    let before = t.audit_total(&store).await;

    let revoked = store
        .revoke_consent(me, &app.client_id, &[t.event("consent.revoked", T0)])
        .await
        .unwrap();
    assert!(revoked);
    assert_eq!(t.audit_total(&store).await, before + 1);
    assert!(store
        .find_consent(me, &app.client_id)
        .await
        .unwrap()
        .is_none());
    for (token, refresh, unused) in &gone {
        assert!(!exists(&store, token).await);
        assert!(store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            store
                .redeem_authorization_code(&unused.hash, T0)
                .await
                .unwrap(),
            CodeRedemption::Unknown
        );
    }
    for (token, refresh, unused) in &kept {
        assert!(exists(&store, token).await, "another pair's token survives");
        assert!(store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_some());
        assert!(store
            .find_consent(unused.user_id, &unused.client_id)
            .await
            .unwrap()
            .is_some());
    }
    assert!(exists(&store, &own).await, "the app's own token survives");
    // No consent: nothing happens, nothing is recorded.
    let again = store
        .revoke_consent(me, &app.client_id, &[t.event("consent.revoked", T0)])
        .await
        .unwrap();
    assert!(!again);
    assert_eq!(t.audit_total(&store).await, before + 1);
}

/// Revoking an app's grants removes every user's consent and tokens for it,
/// not the app's own tokens nor other apps' grants.
pub async fn revoke_consents_of_app(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let (app, other_app) = (t.app(&store).await, t.app(&store).await);
    let other = t.user(&store).await.id;
    let mut doomed = Vec::new();
    for user in [t.owner.id, other] {
        let family = unique("fam");
        let granted = consent(user, &app.client_id, "openid", T0.0);
        let unused = code(user, &app.client_id, &family, LATER);
        store
            .insert_authorization_code(&unused, &granted, &[])
            .await
            .unwrap();
        let token = access(t.org.id, Some(user), &app.client_id);
        let refresh = refresh(user, &app.client_id, &family);
        store
            .insert_user_tokens(&token, Some(&refresh), &[])
            .await
            .unwrap();
        doomed.push((token, refresh, unused));
    }
    let elsewhere = access(t.org.id, Some(other), &other_app.client_id);
    let kept = consent(other, &other_app.client_id, "openid", T0.0);
    store.upsert_consent(&kept, &[]).await.unwrap();
    store
        .insert_user_tokens(&elsewhere, None, &[])
        .await
        .unwrap();
    let own = access(t.org.id, None, &app.client_id);
    store.insert_token(&own).await.unwrap();

    let audit = || [t.event("grants.revoked", T0)];
    assert_eq!(
        store
            .revoke_consents_of_app(&app.client_id, &audit())
            .await
            .unwrap(),
        2
    );
    assert!(store
        .list_consents_of_app(&app.client_id)
        .await
        .unwrap()
        .is_empty());
    for (token, refresh, unused) in &doomed {
        assert!(!exists(&store, token).await);
        assert!(store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            store
                .redeem_authorization_code(&unused.hash, T0)
                .await
                .unwrap(),
            CodeRedemption::Unknown
        );
    }
    assert!(exists(&store, &own).await, "the app's own token survives");
    assert!(exists(&store, &elsewhere).await);
    assert_eq!(
        store
            .find_consent(other, &other_app.client_id)
            .await
            .unwrap(),
        Some(Consent {
            last_used_at: Some(T0),
            ..kept
        })
    );
    assert_eq!(
        store
            .revoke_consents_of_app(&app.client_id, &audit())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        t.audit_total(&store).await,
        2,
        "audit is written every time"
    );
}
