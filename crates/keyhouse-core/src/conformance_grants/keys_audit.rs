//! Conformance checks: keys audit.

use super::*;

/// Deleting an app removes its codes, consents, refresh tokens and assertion ids.
pub async fn deleting_app_removes_grants(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let app = t.app(&store).await;
    let issued = code(t.owner.id, &app.client_id, &unique("fam"), LATER);
    let granted = consent(t.owner.id, &app.client_id, "openid", T0.0);
    store
        .insert_authorization_code(&issued, &granted, &[])
        .await
        .unwrap();
    let token = access(t.org.id, Some(t.owner.id), &app.client_id);
    let refresh = refresh(t.owner.id, &app.client_id, &issued.family_id);
    store
        .insert_user_tokens(&token, Some(&refresh), &[])
        .await
        .unwrap();
    let used = UsedAssertion {
        client_id: app.client_id.clone(),
        jti: unique("jti"),
        expires_at: LATER,
    };
    assert!(store.record_assertion(&used).await.unwrap());
    store.delete_app(&app.client_id, &[]).await.unwrap();
    assert!(store
        .find_consent(t.owner.id, &app.client_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&refresh.hash)
        .await
        .unwrap()
        .is_none());
    assert!(!exists(&store, &token).await);
    assert_eq!(
        store
            .redeem_authorization_code(&issued.hash, T0)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
}

/// Rotation stores the new key and retires the others; retired keys are deleted later.
pub async fn signing_key_rotation(store: Arc<dyn Store>) {
    let key = |created: i64| SigningKeyRecord {
        kid: unique("kid"),
        algorithm: "RS256".to_owned(),
        private_pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".to_owned(),
        created_at: Timestamp(created),
        retired_at: None,
    };
    let (old, new) = (key(T0.0), key(T0.0 + 1));
    store.insert_signing_key(&old).await.unwrap();
    let find = |all: Vec<SigningKeyRecord>, kid: &str| all.into_iter().find(|k| k.kid == kid);
    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(find(listed, &old.kid), Some(old.clone()));
    assert!(
        store.insert_signing_key(&old).await.is_err(),
        "kids are unique"
    );

    let at = Timestamp(T0.0 + 10);
    store.rotate_signing_key(&new, at).await.unwrap();
    let listed = store.list_signing_keys().await.unwrap();
    let positions: Vec<usize> = [&old.kid, &new.kid]
        .iter()
        .map(|kid| listed.iter().position(|k| &&k.kid == kid).unwrap())
        .collect();
    assert!(positions[0] < positions[1], "oldest first");
    let retired = SigningKeyRecord {
        retired_at: Some(at),
        ..old.clone()
    };
    assert_eq!(find(listed.clone(), &old.kid), Some(retired));
    assert_eq!(find(listed, &new.kid), Some(new.clone()));

    assert!(store.delete_retired_keys(at).await.is_ok());
    assert!(find(store.list_signing_keys().await.unwrap(), &old.kid).is_some());
    assert!(
        store
            .delete_retired_keys(Timestamp(at.0 + 1))
            .await
            .unwrap()
            >= 1
    );
    let listed = store.list_signing_keys().await.unwrap();
    assert!(find(listed.clone(), &old.kid).is_none());
    assert_eq!(find(listed, &new.kid), Some(new));
}

/// Audit events round-trip every field and list newest first with a total.
pub async fn audit_log(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let mut odd = t.event("token.refused", Timestamp(30));
    odd.actor_user_id = None;
    odd.actor_client_id = Some("client-1".to_owned());
    odd.object_id = Some("object-1".to_owned());
    odd.source = None;
    odd.success = false;
    let events = [
        t.event("a", Timestamp(10)),
        odd,
        t.event("c", Timestamp(20)),
    ];
    store.insert_audit_events(&events).await.unwrap();
    store.insert_audit_events(&[]).await.unwrap();
    let page = store.list_audit_events(t.org.id, 0, 2).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.data, vec![events[1].clone(), events[2].clone()]);
    let rest = store.list_audit_events(t.org.id, 2, 2).await.unwrap();
    assert_eq!((rest.total, rest.data), (3, vec![events[0].clone()]));
    let none = store
        .list_audit_events(OrgId::generate(), 0, 10)
        .await
        .unwrap();
    assert_eq!((none.total, none.data.len()), (0, 0));
    // A batch is all or nothing: a duplicate id fails it and stores none of it.
    let dup = [t.event("d", Timestamp(40)), events[0].clone()];
    assert!(store.insert_audit_events(&dup).await.is_err());
    assert_eq!(t.audit_total(&store).await, 3);
}
