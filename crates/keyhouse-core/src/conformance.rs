//! The storage conformance suite: every backend runs these same checks, so the
//! SQLite default and PostgreSQL behave alike. Each check uses fresh ids, so
//! the checks can share one database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::access::environment::EnvType;
use crate::access::organization::default_entitlements;
use crate::access::user::username_key;
use crate::access::{
    Audience, ConnectedApp, Environment, GrantType, Membership, Organization, Role, ScopeGrant,
    SecretHash, User,
};
use crate::authn::token::{mint, AccessTokenRecord};
use crate::ids::{generate_client_id, EnvId, OrgId, UserId};
use crate::store::{Store, StoreError};
use crate::time_fmt::Timestamp;

fn org(parent: Option<&Organization>, owner: UserId, name: &str, t: i64) -> Organization {
    let id = OrgId::generate();
    Organization {
        id,
        name: name.to_owned(),
        client_id: generate_client_id(),
        parent_id: parent.map(|p| p.id),
        root_id: parent.map(|p| p.root_id).unwrap_or(id),
        owner_id: owner,
        domain: None,
        session_timeout_minutes: 60,
        entitlements: default_entitlements(),
        properties: serde_json::json!({"k": "v"}),
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
    }
}

fn env(org: OrgId, name: &str, env_type: EnvType, t: i64) -> Environment {
    Environment {
        id: EnvId::generate(),
        org_id: org,
        name: name.to_owned(),
        env_type,
        client_id: generate_client_id(),
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
    }
}

fn user(root: OrgId, username: &str) -> User {
    User {
        id: UserId::generate(),
        org_id: root,
        username: username.to_owned(),
        first_name: "Ada".to_owned(),
        last_name: "Lovelace".to_owned(),
        email: "ada@example.com".to_owned(),
        phone_number: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        enabled: true,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        last_login: None,
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &UserId::generate().to_string()[..8])
}

/// Creates a root org with an owner and returns both.
async fn seeded_root(store: &Arc<dyn Store>) -> (Organization, User) {
    let owner_id = UserId::generate();
    let root = org(None, owner_id, "Acme", 1_000);
    let mut owner = user(root.id, &unique("owner"));
    owner.id = owner_id;
    let envs = [
        env(root.id, "Production", EnvType::Production, 1_000),
        env(root.id, "Sandbox", EnvType::Sandbox, 1_001),
    ];
    store
        .insert_root_organization(&root, &envs, &owner)
        .await
        .unwrap();
    (root, owner)
}

/// Root organization, owner, memberships and environments are written together.
pub async fn root_organization_roundtrip(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    assert_eq!(
        store.find_organization(root.id).await.unwrap(),
        Some(root.clone())
    );
    assert!(store
        .list_root_organizations()
        .await
        .unwrap()
        .iter()
        .any(|o| o.id == root.id));
    assert_eq!(
        store.find_user(owner.id).await.unwrap(),
        Some(owner.clone())
    );
    let by_key = store
        .find_user_by_username_key(&username_key(&owner.username.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(by_key.map(|u| u.id), Some(owner.id));
    assert_eq!(
        store.list_memberships(owner.id).await.unwrap(),
        vec![Membership {
            user_id: owner.id,
            org_id: root.id,
            role: Role::Admin
        }]
    );
    let envs = store.list_environments(root.id, 0, 10).await.unwrap();
    assert_eq!(envs.total, 2);
    assert_eq!(envs.data[0].name, "Production");
    assert_eq!(envs.data[0].env_type, EnvType::Production);
    assert!(store
        .find_organization(OrgId::generate())
        .await
        .unwrap()
        .is_none());
}

/// A failed multi-row write leaves nothing behind.
pub async fn root_organization_is_atomic(store: Arc<dyn Store>) {
    let owner_id = UserId::generate();
    let root = org(None, owner_id, "Atomic", 1_000);
    let mut owner = user(root.id, &unique("atomic"));
    owner.id = owner_id;
    let dup = [
        env(root.id, "Same", EnvType::Sandbox, 1),
        env(root.id, "Same", EnvType::Sandbox, 2),
    ];
    let result = store.insert_root_organization(&root, &dup, &owner).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert!(store.find_organization(root.id).await.unwrap().is_none());
    assert!(store.find_user(owner.id).await.unwrap().is_none());
}

/// Usernames are unique regardless of case; memberships can be added.
pub async fn users_and_memberships(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    let mut twin = user(root.id, &owner.username.to_uppercase());
    let result = store.insert_user(&twin, &[]).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    twin.username = unique("member");
    let membership = Membership {
        user_id: twin.id,
        org_id: root.id,
        role: Role::Member,
    };
    store.insert_user(&twin, &[membership]).await.unwrap();
    assert_eq!(
        store.list_memberships(twin.id).await.unwrap(),
        vec![membership]
    );
    let promoted = Membership {
        role: Role::Admin,
        ..membership
    };
    store.upsert_membership(&promoted).await.unwrap();
    assert_eq!(
        store.list_memberships(twin.id).await.unwrap(),
        vec![promoted]
    );
    store.record_login(twin.id, Timestamp(5_000)).await.unwrap();
    let reloaded = store.find_user(twin.id).await.unwrap().unwrap();
    assert_eq!(reloaded.last_login, Some(Timestamp(5_000)));
}

/// Business groups join their root's tree, update in place and delete with their environments.
pub async fn business_group_lifecycle(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    let bg = org(Some(&root), owner.id, "Payments", 2_000);
    let bg_env = env(bg.id, "Sandbox", EnvType::Sandbox, 2_000);
    store
        .insert_business_group(&bg, std::slice::from_ref(&bg_env))
        .await
        .unwrap();
    let tree = store.list_tree(root.id).await.unwrap();
    assert_eq!(tree.len(), 2);
    let mut changed = bg.clone();
    changed.name = "Payments EU".to_owned();
    changed.session_timeout_minutes = 30;
    changed.entitlements = serde_json::json!({"createSubOrgs": false});
    changed.updated_at = Timestamp(3_000);
    store.update_organization(&changed, &[]).await.unwrap();
    assert_eq!(store.find_organization(bg.id).await.unwrap(), Some(changed));
    store.delete_organization(bg.id, &[]).await.unwrap();
    assert!(store.find_organization(bg.id).await.unwrap().is_none());
    assert!(store.find_environment(bg_env.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_organization(bg.id, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// Environments: unique names per org, paging with totals, rename, delete.
pub async fn environment_lifecycle(store: Arc<dyn Store>) {
    let (root, _) = seeded_root(&store).await;
    let qa = env(root.id, "QA", EnvType::Sandbox, 5_000);
    store.insert_environment(&qa, &[]).await.unwrap();
    let dup = env(root.id, "QA", EnvType::Design, 5_001);
    assert!(matches!(
        store.insert_environment(&dup, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    let page = store.list_environments(root.id, 1, 1).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].name, "Sandbox");
    let mut renamed = qa.clone();
    renamed.name = "QA2".to_owned();
    renamed.updated_at = Timestamp(6_000);
    store.update_environment(&renamed, &[]).await.unwrap();
    assert_eq!(store.find_environment(qa.id).await.unwrap(), Some(renamed));
    store.delete_environment(qa.id, &[]).await.unwrap();
    assert!(store.find_environment(qa.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_environment(qa.id, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// Tokens are found by hash, listed while live, deleted and purged.
pub async fn token_lifecycle(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    let now = Timestamp(1_700_000_000_000);
    let live = AccessTokenRecord {
        hash: mint().hash,
        user_id: Some(owner.id),
        client_id: None,
        org_id: root.id,
        created_at: now,
        expires_at: now.plus_minutes(60),
        scope: None,
    };
    let expired = AccessTokenRecord {
        hash: mint().hash,
        expires_at: Timestamp(now.0 - 1),
        ..live.clone()
    };
    store.insert_token(&live).await.unwrap();
    store.insert_token(&expired).await.unwrap();
    // A batch is all or nothing: a token for an app that does not exist
    // (a foreign key) fails it and stores none of it.
    let fresh = AccessTokenRecord {
        hash: mint().hash,
        ..live.clone()
    };
    let orphan = AccessTokenRecord {
        hash: mint().hash,
        user_id: None,
        client_id: Some("no-such-app-0000000000000000000000".to_owned()),
        ..live.clone()
    };
    assert!(store
        .insert_tokens(&[fresh.clone(), orphan.clone()])
        .await
        .is_err());
    assert!(store.find_token(&orphan.hash).await.unwrap().is_none());
    assert!(store.find_token(&fresh.hash).await.unwrap().is_none());
    store
        .insert_tokens(std::slice::from_ref(&fresh))
        .await
        .unwrap();
    assert_eq!(store.find_token(&fresh.hash).await.unwrap(), Some(fresh));
    assert_eq!(
        store.find_token(&live.hash).await.unwrap(),
        Some(live.clone())
    );
    let listed = store.list_live_tokens(now).await.unwrap();
    assert!(listed.contains(&live));
    assert!(!listed.contains(&expired));
    assert!(store.purge_expired_tokens(now).await.unwrap() >= 1);
    assert!(store.find_token(&expired.hash).await.unwrap().is_none());
    // Given the wrong expiry, nothing is deleted; then deleted, and again.
    store
        .delete_token(&live.hash, live.expires_at.plus_minutes(1))
        .await
        .unwrap();
    assert!(store.find_token(&live.hash).await.unwrap().is_some());
    store
        .delete_token(&live.hash, live.expires_at)
        .await
        .unwrap();
    store
        .delete_token(&live.hash, live.expires_at)
        .await
        .unwrap();
    assert!(store.find_token(&live.hash).await.unwrap().is_none());
    store.ping().await.unwrap();
}

fn app(org: &Organization, owner: &User, name: &str, t: i64) -> ConnectedApp {
    ConnectedApp {
        client_id: generate_client_id(),
        secret_hash: SecretHash([9; 32]),
        name: name.to_owned(),
        org_id: org.id,
        owner_user_id: owner.id,
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        public_keys: vec![],
        scopes: vec![],
        audience: Audience::Internal,
        client_uri: None,
        policy_uri: None,
        enabled: true,
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
        secret_updated_at: Timestamp(t),
        public_client: false,
    }
}

/// Apps round-trip every field, names are unique per org regardless of case,
/// listing pages and searches, and updates replace every mutable field.
pub async fn app_lifecycle(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    let env_id = store.list_environments(root.id, 0, 1).await.unwrap().data[0].id;
    let scopes = vec![
        ScopeGrant {
            scope: "view:environment".to_owned(),
            org: Some(root.id),
            env: Some(env_id),
        },
        ScopeGrant {
            scope: "read:audit_logs".to_owned(),
            org: Some(root.id),
            env: None,
        },
        ScopeGrant {
            scope: "profile".to_owned(),
            org: None,
            env: None,
        },
    ];
    let mut ci = app(&root, &owner, "CI Pipeline", 10);
    store.insert_app(&ci, &scopes, &[]).await.unwrap();
    assert_eq!(
        store.find_app(&ci.client_id).await.unwrap(),
        Some(ci.clone())
    );
    assert_eq!(store.list_app_scopes(&ci.client_id).await.unwrap(), scopes);
    let twin = app(&root, &owner, "ci pipeline", 11);
    assert!(matches!(
        store.insert_app(&twin, &[], &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.find_app(&twin.client_id).await.unwrap().is_none());
    let mut web = app(&root, &owner, "Web Portal", 12);
    web.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    web.redirect_uris = vec!["https://portal.example.com/callback".to_owned()];
    web.public_keys = vec!["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".to_owned()];
    web.scopes = vec!["openid".to_owned(), "profile".to_owned()];
    web.audience = Audience::Everyone;
    web.client_uri = Some("https://portal.example.com".to_owned());
    web.policy_uri = Some("https://portal.example.com/privacy".to_owned());
    store.insert_app(&web, &[], &[]).await.unwrap();
    assert_eq!(
        store.find_app(&web.client_id).await.unwrap(),
        Some(web.clone())
    );

    let page = store.list_apps(root.id, None, 0, 10).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.data[0].client_id, ci.client_id);
    let page = store.list_apps(root.id, None, 1, 1).await.unwrap();
    assert_eq!((page.total, page.data.len()), (2, 1));
    assert_eq!(page.data[0].client_id, web.client_id);
    let found = store
        .list_apps(root.id, Some("PORTAL"), 0, 10)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.data[0].client_id, web.client_id);
    let none = store.list_apps(root.id, Some("%"), 0, 10).await.unwrap();
    assert_eq!(none.total, 0, "search is literal, not a LIKE pattern");
    assert_eq!(
        store
            .list_apps(OrgId::generate(), None, 0, 10)
            .await
            .unwrap()
            .total,
        0
    );

    ci.name = "CI Pipeline v2".to_owned();
    ci.enabled = false;
    ci.secret_hash = SecretHash([1; 32]);
    ci.secret_updated_at = Timestamp(99);
    ci.updated_at = Timestamp(99);
    ci.grant_types = vec![GrantType::ClientCredentials];
    store.update_app(&ci, &[]).await.unwrap();
    assert_eq!(
        store.find_app(&ci.client_id).await.unwrap(),
        Some(ci.clone())
    );
    let mut clash = web.clone();
    clash.name = "ci pipeline V2".to_owned();
    assert!(matches!(
        store.update_app(&clash, &[]).await,
        Err(StoreError::Conflict(_))
    ));

    let replaced = vec![ScopeGrant {
        scope: "edit:environment".to_owned(),
        org: Some(root.id),
        env: Some(env_id),
    }];
    store
        .replace_app_scopes(&ci.client_id, &replaced, &[])
        .await
        .unwrap();
    assert_eq!(
        store.list_app_scopes(&ci.client_id).await.unwrap(),
        replaced
    );
    store
        .replace_app_scopes(&ci.client_id, &[], &[])
        .await
        .unwrap();
    assert!(store
        .list_app_scopes(&ci.client_id)
        .await
        .unwrap()
        .is_empty());

    store.delete_app(&web.client_id, &[]).await.unwrap();
    assert!(store.find_app(&web.client_id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_app(&web.client_id, &[]).await,
        Err(StoreError::NotFound)
    ));
    let mut ghost = app(&root, &owner, "Ghost", 13);
    ghost.client_id = generate_client_id();
    assert!(matches!(
        store.update_app(&ghost, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// App tokens are stored without a user; deleting the app or its tokens removes them.
pub async fn app_tokens(store: Arc<dyn Store>) {
    let (root, owner) = seeded_root(&store).await;
    let ci = app(&root, &owner, "Tokens", 10);
    store.insert_app(&ci, &[], &[]).await.unwrap();
    let now = Timestamp(1_700_000_000_000);
    let record = |client: &str| AccessTokenRecord {
        hash: mint().hash,
        user_id: None,
        client_id: Some(client.to_owned()),
        org_id: root.id,
        created_at: now,
        expires_at: now.plus_minutes(60),
        scope: None,
    };
    let first = record(&ci.client_id);
    let second = record(&ci.client_id);
    store.insert_token(&first).await.unwrap();
    store.insert_token(&second).await.unwrap();
    assert_eq!(
        store.find_token(&first.hash).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.delete_tokens_of_app(&ci.client_id).await.unwrap(), 2);
    assert!(store.find_token(&first.hash).await.unwrap().is_none());
    let third = record(&ci.client_id);
    store.insert_token(&third).await.unwrap();
    store.delete_app(&ci.client_id, &[]).await.unwrap();
    assert!(
        store.find_token(&third.hash).await.unwrap().is_none(),
        "deleting an app deletes its tokens"
    );
}
