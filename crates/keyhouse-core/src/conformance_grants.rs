//! Storage conformance for user grants, signing keys and the audit log
//! ([`crate::store::GrantStore`], [`crate::store::KeyStore`],
//! [`crate::store::AuditStore`]). Like [`crate::conformance`], each check
//! makes its own organization, users and apps, so checks can share one
//! database and run in parallel. Live rows expire after [`T0`], far past the
//! instants other checks purge at.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::access::organization::default_entitlements;
use crate::access::{Audience, ConnectedApp, GrantType, Membership, Organization, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, AccessTokenRecord};
use crate::ids::{generate_client_id, OrgId, UserId};
use crate::oauth::records::{
    AuthorizationCode, CodeRedemption, Consent, RefreshRotation, RefreshTokenRecord, UsedAssertion,
};
use crate::oidc::keys::SigningKeyRecord;
use crate::store::Store;
use crate::time_fmt::Timestamp;

/// "Now" in these checks: later than every instant the other checks purge at.
const T0: Timestamp = Timestamp(1_800_000_000_000);
/// Long enough for any row that must outlive a check.
const LATER: Timestamp = Timestamp(1_900_000_000_000);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &UserId::generate().to_string()[..8])
}

fn person(org: OrgId) -> User {
    User {
        id: UserId::generate(),
        org_id: org,
        username: unique("grantee"),
        first_name: "Grace".to_owned(),
        last_name: "Hopper".to_owned(),
        email: "grace@example.com".to_owned(),
        phone_number: None,
        password_hash: None,
        enabled: true,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        last_login: None,
    }
}

/// An organization with its owner: the user every check acts for first.
struct Tenant {
    org: Organization,
    owner: User,
}

async fn tenant(store: &Arc<dyn Store>) -> Tenant {
    let id = OrgId::generate();
    let mut owner = person(id);
    let org = Organization {
        id,
        name: "Grants".to_owned(),
        client_id: generate_client_id(),
        parent_id: None,
        root_id: id,
        owner_id: owner.id,
        domain: None,
        session_timeout_minutes: 60,
        entitlements: default_entitlements(),
        properties: serde_json::json!({}),
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
    };
    owner.org_id = id;
    store
        .insert_root_organization(&org, &[], &owner)
        .await
        .unwrap();
    Tenant { org, owner }
}

impl Tenant {
    async fn user(&self, store: &Arc<dyn Store>) -> User {
        let user = person(self.org.id);
        let member = Membership {
            user_id: user.id,
            org_id: self.org.id,
            role: Role::Member,
        };
        store.insert_user(&user, &[member]).await.unwrap();
        user
    }

    async fn app(&self, store: &Arc<dyn Store>) -> ConnectedApp {
        let app = ConnectedApp {
            client_id: generate_client_id(),
            secret_hash: crate::access::SecretHash([3; 32]),
            name: unique("Portal"),
            org_id: self.org.id,
            owner_user_id: self.owner.id,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec!["https://app.example.com/cb".to_owned()],
            public_keys: vec![],
            scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
            audience: Audience::Everyone,
            client_uri: None,
            policy_uri: None,
            enabled: true,
            created_at: Timestamp(1_000),
            updated_at: Timestamp(1_000),
            secret_updated_at: Timestamp(1_000),
            public_client: false,
        };
        store.insert_app(&app, &[]).await.unwrap();
        app
    }

    fn event(&self, action: &str, at: Timestamp) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::new_v4(),
            at,
            org_id: Some(self.org.id),
            actor_user_id: Some(self.owner.id),
            actor_client_id: None,
            action: action.to_owned(),
            object_type: "connected_app".to_owned(),
            object_id: None,
            source: Some("192.0.2.1".to_owned()),
            success: true,
            detail: serde_json::json!({"n": 1, "list": ["a", "b"], "nested": {"ok": true}}),
        }
    }

    async fn audit_total(&self, store: &Arc<dyn Store>) -> u64 {
        store
            .list_audit_events(self.org.id, 0, 1)
            .await
            .unwrap()
            .total
    }
}

fn code(user: UserId, client_id: &str, family: &str, expires_at: Timestamp) -> AuthorizationCode {
    AuthorizationCode {
        hash: mint().hash,
        client_id: client_id.to_owned(),
        user_id: user,
        redirect_uri: "https://app.example.com/cb".to_owned(),
        scope: "openid offline_access".to_owned(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        auth_time: Timestamp(T0.0 - 5_000),
        family_id: family.to_owned(),
        created_at: T0,
        expires_at,
    }
}

fn consent(user: UserId, client_id: &str, scope: &str, t: i64) -> Consent {
    Consent {
        user_id: user,
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
        last_used_at: None,
    }
}

fn access(org: OrgId, user: Option<UserId>, client_id: &str) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: mint().hash,
        user_id: user,
        client_id: Some(client_id.to_owned()),
        org_id: org,
        created_at: T0,
        expires_at: LATER,
        scope: user.map(|_| "openid offline_access".to_owned()),
    }
}

fn refresh(user: UserId, client_id: &str, family: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: mint().hash,
        family_id: family.to_owned(),
        client_id: client_id.to_owned(),
        user_id: user,
        scope: "openid offline_access".to_owned(),
        auth_time: Timestamp(T0.0 - 5_000),
        created_at: T0,
        expires_at: LATER,
        rotated_at: None,
    }
}

async fn exists(store: &Arc<dyn Store>, token: &AccessTokenRecord) -> bool {
    store.find_token(&token.hash).await.unwrap().is_some()
}

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
    store.delete_app(&app.client_id).await.unwrap();
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
