//! Conformance checks: tokens.

use super::*;

/// Issuing user tokens stores access (with scope) and refresh token and marks
/// the consent used; all or nothing. Without a consent it still succeeds.
pub async fn user_tokens_and_scope(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let granted = consent(t.owner.id, &app.client_id, "openid", 100);
    store.upsert_consent(&granted, &[]).await.unwrap();
    let token = AccessTokenRecord {
        created_at: Timestamp(T0.0 + 5),
        ..access(t.org.id, Some(t.owner.id), &app.client_id)
    };
    let refresh = refresh(t.owner.id, &app.client_id, &unique("fam"));
    store
        .insert_user_tokens(&token, Some(&refresh), &[t.event("token.issued", T0)])
        .await
        .unwrap();
    assert_eq!(
        store.find_token(&token.hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store.find_refresh_token(&refresh.hash).await.unwrap(),
        Some(refresh.clone())
    );
    let used = store
        .find_consent(t.owner.id, &app.client_id)
        .await
        .unwrap();
    assert_eq!(used.and_then(|c| c.last_used_at), Some(Timestamp(T0.0 + 5)));
    assert_eq!(t.audit_total(&store).await, 1);

    // A duplicate refresh hash fails the whole write: the access token is not kept.
    let orphan = access(t.org.id, Some(t.owner.id), &app.client_id);
    assert!(store
        .insert_user_tokens(&orphan, Some(&refresh), &[t.event("token.issued", T0)])
        .await
        .is_err());
    assert!(!exists(&store, &orphan).await);
    assert_eq!(t.audit_total(&store).await, 1);

    // No consent for the pair (e.g. a password grant): fine, none is created.
    let stranger = t.user(&store).await;
    let plain = access(t.org.id, Some(stranger.id), &app.client_id);
    store.insert_user_tokens(&plain, None, &[]).await.unwrap();
    assert!(store
        .find_consent(stranger.id, &app.client_id)
        .await
        .unwrap()
        .is_none());

    // The scope column round-trips through the plain token API too.
    let scoped = AccessTokenRecord {
        scope: Some("profile email".to_owned()),
        ..access(t.org.id, Some(t.owner.id), &app.client_id)
    };
    let unscoped = AccessTokenRecord {
        scope: None,
        ..access(t.org.id, Some(t.owner.id), &app.client_id)
    };
    store
        .insert_tokens(&[scoped.clone(), unscoped.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.find_token(&scoped.hash).await.unwrap(),
        Some(scoped.clone())
    );
    assert_eq!(
        store.find_token(&unscoped.hash).await.unwrap(),
        Some(unscoped.clone())
    );
    let live = store.list_live_tokens(T0).await.unwrap();
    assert!(live.contains(&scoped) && live.contains(&unscoped) && live.contains(&token));
}

/// Of 8 concurrent rotations of a refresh token exactly one wins (RT-09).
pub async fn refresh_rotation_single_use(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let token = access(t.org.id, Some(t.owner.id), &app.client_id);
    let issued = refresh(t.owner.id, &app.client_id, &unique("fam"));
    store
        .insert_user_tokens(&token, Some(&issued), &[])
        .await
        .unwrap();
    let rotators: Vec<_> = (0..8)
        .map(|_| {
            let (store, hash) = (store.clone(), issued.hash);
            tokio::spawn(async move { store.rotate_refresh_token(&hash, T0).await })
        })
        .collect();
    let rotated_record = RefreshTokenRecord {
        rotated_at: Some(T0),
        ..issued.clone()
    };
    let mut rotated = 0;
    for rotator in rotators {
        match rotator.await.unwrap().unwrap() {
            RefreshRotation::Rotated(found) => {
                rotated += 1;
                assert_eq!(found, rotated_record);
            }
            RefreshRotation::AlreadyRotated(found) => assert_eq!(found, rotated_record),
            RefreshRotation::Unknown => panic!("the refresh token was stored"),
        }
    }
    assert_eq!(rotated, 1, "exactly one concurrent rotation wins");
    assert_eq!(
        store
            .rotate_refresh_token(&issued.hash, LATER)
            .await
            .unwrap(),
        RefreshRotation::AlreadyRotated(rotated_record.clone())
    );
    assert_eq!(
        store.find_refresh_token(&issued.hash).await.unwrap(),
        Some(rotated_record)
    );
    assert_eq!(
        store.rotate_refresh_token(&mint().hash, T0).await.unwrap(),
        RefreshRotation::Unknown
    );
}

/// Killing a family deletes its refresh tokens and the access tokens the app
/// holds for the family's user; other families, users and the app's own token stay.
pub async fn refresh_family_revocation(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let (me, other) = (t.owner.id, t.user(&store).await.id);
    let (family, sibling) = (unique("fam"), unique("fam"));
    let first = refresh(me, &app.client_id, &family);
    let second = refresh(me, &app.client_id, &family);
    let unrelated = refresh(me, &app.client_id, &sibling);
    let mine = [
        access(t.org.id, Some(me), &app.client_id),
        access(t.org.id, Some(me), &app.client_id),
        access(t.org.id, Some(me), &app.client_id),
    ];
    for (token, refresh) in mine.iter().zip([&first, &second, &unrelated]) {
        store
            .insert_user_tokens(token, Some(refresh), &[])
            .await
            .unwrap();
    }
    store.rotate_refresh_token(&first.hash, T0).await.unwrap();
    let theirs = access(t.org.id, Some(other), &app.client_id);
    let own = access(t.org.id, None, &app.client_id);
    store.insert_user_tokens(&theirs, None, &[]).await.unwrap();
    store.insert_token(&own).await.unwrap();

    let audit = || [t.event("refresh_token.reused", T0)];
    assert_eq!(
        store
            .revoke_refresh_family(&family, &audit())
            .await
            .unwrap(),
        2
    );
    assert!(store
        .find_refresh_token(&first.hash)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&second.hash)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&unrelated.hash)
        .await
        .unwrap()
        .is_some());
    for token in &mine {
        assert!(!exists(&store, token).await, "the pair's access tokens go");
    }
    assert!(exists(&store, &theirs).await);
    assert!(exists(&store, &own).await);
    assert_eq!(
        store
            .revoke_refresh_family(&family, &audit())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        t.audit_total(&store).await,
        2,
        "audit is written every time"
    );

    // A replayed code whose grant issued no refresh token: the code names the pair.
    let replayed = code(other, &app.client_id, &unique("fam"), LATER);
    let granted = consent(other, &app.client_id, "openid", T0.0);
    store
        .insert_authorization_code(&replayed, &granted, &[])
        .await
        .unwrap();
    store
        .redeem_authorization_code(&replayed.hash, T0)
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_refresh_family(&replayed.family_id, &[])
            .await
            .unwrap(),
        0
    );
    assert!(!exists(&store, &theirs).await);
    assert!(exists(&store, &own).await);
}

/// Expired sessions, codes, refresh tokens and assertion ids are purged; live ones stay.
pub async fn purge_expired_grants(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let (cutoff, past) = (Timestamp(1_000_000), Timestamp(500_000));
    let mut rows = Vec::new();
    for expires_at in [past, LATER] {
        let session = BrowserSession {
            hash: mint().hash,
            user_id: t.owner.id,
            auth_time: Timestamp(1),
            created_at: Timestamp(1),
            expires_at,
        };
        store.insert_browser_session(&session).await.unwrap();
        let issued = code(t.owner.id, &app.client_id, &unique("fam"), expires_at);
        let granted = consent(t.owner.id, &app.client_id, "openid", 1);
        store
            .insert_authorization_code(&issued, &granted, &[])
            .await
            .unwrap();
        let refresh = RefreshTokenRecord {
            expires_at,
            ..refresh(t.owner.id, &app.client_id, &unique("fam"))
        };
        let token = access(t.org.id, Some(t.owner.id), &app.client_id);
        store
            .insert_user_tokens(&token, Some(&refresh), &[])
            .await
            .unwrap();
        let used = UsedAssertion {
            client_id: app.client_id.clone(),
            jti: unique("jti"),
            expires_at,
        };
        assert!(store.record_assertion(&used).await.unwrap());
        rows.push((session.hash, issued.hash, refresh.hash, used));
    }
    assert!(store.purge_expired_grants(cutoff).await.unwrap() >= 4);
    for (i, (session, issued, refresh, used)) in rows.iter().enumerate() {
        let live = i == 1;
        assert_eq!(
            store.find_browser_session(session).await.unwrap().is_some(),
            live
        );
        let redeemed = store.redeem_authorization_code(issued, T0).await.unwrap();
        assert_eq!(redeemed != CodeRedemption::Unknown, live);
        assert_eq!(
            store.find_refresh_token(refresh).await.unwrap().is_some(),
            live
        );
        // A purged assertion id can be recorded again; a live one cannot.
        assert_eq!(store.record_assertion(used).await.unwrap(), !live);
    }
}

/// An assertion id is accepted once per client, even under concurrency (JB-09).
pub async fn assertion_single_use(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let (app, other_app) = (t.app(&store).await, t.app(&store).await);
    let used = UsedAssertion {
        client_id: app.client_id.clone(),
        jti: unique("jti"),
        expires_at: LATER,
    };
    assert!(store.record_assertion(&used).await.unwrap());
    assert!(!store.record_assertion(&used).await.unwrap());
    let elsewhere = UsedAssertion {
        client_id: other_app.client_id.clone(),
        ..used.clone()
    };
    assert!(store.record_assertion(&elsewhere).await.unwrap());
    let fresh = UsedAssertion {
        jti: unique("jti"),
        ..used
    };
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, fresh) = (store.clone(), fresh.clone());
            tokio::spawn(async move { store.record_assertion(&fresh).await })
        })
        .collect();
    let mut accepted = 0;
    for racer in racers {
        if racer.await.unwrap().unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1, "exactly one concurrent use is accepted");
}
