//! Storage conformance for managing users (`GET|POST|PUT|DELETE …/users`):
//! listing with search and paging, updating, disabling (which ends the
//! user's tokens and sessions in the same transaction) and deleting. Each
//! check makes its own tenant, so checks can share one database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::access::organization::default_entitlements;
use crate::access::{Membership, Organization, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, AccessTokenRecord};
use crate::ids::{generate_client_id, OrgId, UserId};
use crate::store::{Store, StoreError};
use crate::time_fmt::Timestamp;

/// Far in the future: rows that must outlive the check.
const LATER: Timestamp = Timestamp(4_000_000_000_000);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &UserId::generate().to_string()[..8])
}

fn person(org: OrgId, username: &str, first: &str, email: &str) -> User {
    User {
        id: UserId::generate(),
        org_id: org,
        username: username.to_owned(),
        first_name: first.to_owned(),
        last_name: "Tester".to_owned(),
        email: email.to_owned(),
        phone_number: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        enabled: true,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        last_login: None,
    }
}

/// A root organization with its owner.
async fn tenant(store: &Arc<dyn Store>) -> (Organization, User) {
    let id = OrgId::generate();
    let owner = person(id, &unique("owner"), "Owner", "owner@example.com");
    let org = Organization {
        id,
        name: unique("Users"),
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
    store
        .insert_root_organization(&org, &[], &owner)
        .await
        .unwrap();
    (org, owner)
}

fn event(org: OrgId, action: &str) -> AuditEvent {
    AuditEvent::new(Timestamp(2_000), action, "user").org(org)
}

async fn member(store: &Arc<dyn Store>, org: OrgId, user: &User, action: &str) {
    let membership = Membership {
        user_id: user.id,
        org_id: org,
        role: Role::Member,
    };
    store
        .insert_user_audited(user, &[membership], &[event(org, action)])
        .await
        .unwrap();
}

async fn actions(store: &Arc<dyn Store>, org: OrgId) -> Vec<String> {
    let mut list: Vec<String> = store
        .list_audit_events(org, 0, 100)
        .await
        .unwrap()
        .data
        .into_iter()
        .map(|e| e.action)
        .collect();
    list.sort();
    list
}

/// Listing is per tenant, by username, searchable in usernames, names and
/// emails (case-insensitive, literal), and paged with the full total.
pub async fn users_list_search_and_paging(store: Arc<dyn Store>) {
    let (org, owner) = tenant(&store).await;
    let (other, _) = tenant(&store).await;
    let tag = unique("zz");
    let ada = person(org.id, &format!("{tag}-ada"), "Ada", "ada@math.example");
    let bob = person(org.id, &format!("{tag}-bob"), "Robert", "bob@example.com");
    let pct = person(org.id, &format!("{tag}-pct"), "Per%cent", "p@example.com");
    for u in [&ada, &bob, &pct] {
        member(&store, org.id, u, "user.created").await;
    }
    let stranger = person(other.id, &format!("{tag}-eve"), "Eve", "eve@example.com");
    member(&store, other.id, &stranger, "user.created").await;

    let all = store.list_users(org.id, None, 0, 100).await.unwrap();
    assert_eq!(all.total, 4);
    let names: Vec<&str> = all.data.iter().map(|u| u.username.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "ordered by username");
    assert!(all.data.iter().any(|u| u.id == owner.id));
    assert!(all.data.iter().all(|u| u.org_id == org.id));

    let found = |search: &'static str| {
        let store = store.clone();
        async move {
            let page = store
                .list_users(org.id, Some(search), 0, 100)
                .await
                .unwrap();
            page.data
                .into_iter()
                .map(|u| u.first_name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("ROBERT").await, ["Robert"]);
    assert_eq!(found("math.EXAMPLE").await, ["Ada"]);
    assert_eq!(found("%").await, ["Per%cent"], "no wildcards");
    assert_eq!(found("_").await, Vec::<String>::new(), "no wildcards");
    assert_eq!(found("tester").await.len(), 4, "last names match");
    assert_eq!(found("eve").await, Vec::<String>::new(), "other tenant");

    let page = store.list_users(org.id, Some(&tag), 1, 1).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id, bob.id);
    assert_eq!(
        actions(&store, org.id).await,
        ["user.created", "user.created", "user.created"]
    );
}

/// Updates change the profile in place; saving a user disabled deletes their
/// access tokens and browser sessions in the same transaction and returns
/// the token hashes; enabling again keeps what is left.
pub async fn users_update_and_disable(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let mut user = person(org.id, &unique("dora"), "Dora", "dora@example.com");
    member(&store, org.id, &user, "user.created").await;
    let token = mint();
    let record = AccessTokenRecord {
        hash: token.hash,
        user_id: Some(user.id),
        client_id: None,
        org_id: org.id,
        created_at: Timestamp(1_000),
        expires_at: LATER,
        scope: None,
    };
    store.insert_token(&record).await.unwrap();
    let session = BrowserSession {
        hash: mint().hash,
        user_id: user.id,
        auth_time: Timestamp(1_000),
        created_at: Timestamp(1_000),
        expires_at: LATER,
    };
    store.insert_browser_session(&session).await.unwrap();

    user.first_name = "Dorothy".to_owned();
    user.phone_number = Some("555 0100".to_owned());
    user.updated_at = Timestamp(3_000);
    let revoked = store
        .update_user(&user, &[event(org.id, "user.updated")])
        .await
        .unwrap();
    assert!(revoked.is_empty(), "an enabled user keeps their tokens");
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(user.clone()));
    assert!(store.find_token(&token.hash).await.unwrap().is_some());

    user.enabled = false;
    let revoked = store
        .update_user(&user, &[event(org.id, "user.disabled")])
        .await
        .unwrap();
    assert_eq!(revoked, vec![token.hash]);
    assert!(!store.find_user(user.id).await.unwrap().unwrap().enabled);
    assert!(store.find_token(&token.hash).await.unwrap().is_none());
    assert!(store
        .find_browser_session(&session.hash)
        .await
        .unwrap()
        .is_none());

    user.enabled = true;
    store
        .update_user(&user, &[event(org.id, "user.enabled")])
        .await
        .unwrap();
    assert!(store.find_user(user.id).await.unwrap().unwrap().enabled);
    assert_eq!(
        actions(&store, org.id).await,
        [
            "user.created",
            "user.disabled",
            "user.enabled",
            "user.updated"
        ]
    );
    let mut ghost = user.clone();
    ghost.id = UserId::generate();
    let missing = store.update_user(&ghost, &[event(org.id, "x")]).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(actions(&store, org.id).await.len(), 4, "nothing written");
}

/// Deleting a user removes them, their memberships and tokens, and frees the
/// username; deleting again is `NotFound` and writes nothing.
pub async fn users_delete(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = person(org.id, &unique("gone"), "Gone", "gone@example.com");
    member(&store, org.id, &user, "user.created").await;
    let token = mint();
    store
        .insert_token(&AccessTokenRecord {
            hash: token.hash,
            user_id: Some(user.id),
            client_id: None,
            org_id: org.id,
            created_at: Timestamp(1_000),
            expires_at: LATER,
            scope: None,
        })
        .await
        .unwrap();
    let revoked = store
        .delete_user(user.id, &[event(org.id, "user.deleted")])
        .await
        .unwrap();
    assert_eq!(revoked, vec![token.hash]);
    assert!(store.find_user(user.id).await.unwrap().is_none());
    assert!(store.list_memberships(user.id).await.unwrap().is_empty());
    assert!(store.find_token(&token.hash).await.unwrap().is_none());
    assert_eq!(
        store.list_users(org.id, None, 0, 10).await.unwrap().total,
        1
    );
    let again = store
        .delete_user(user.id, &[event(org.id, "user.deleted")])
        .await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    assert_eq!(
        actions(&store, org.id).await,
        ["user.created", "user.deleted"]
    );
    // The username is free again.
    member(&store, org.id, &user, "user.created").await;
}
