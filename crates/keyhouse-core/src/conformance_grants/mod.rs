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

mod audit_query;
mod consents;
mod keys_audit;
mod sessions_codes;
mod tokens;

pub use audit_query::{
    audit_query_filters, audit_query_paging, audit_retention_purge, audited_changes_are_atomic,
};
pub use consents::{consents_upsert_and_list, revoke_consent_of_one_pair, revoke_consents_of_app};
pub use keys_audit::{audit_log, deleting_app_removes_grants, signing_key_rotation};
pub use sessions_codes::{authorization_code_single_use, browser_sessions};
pub use tokens::{
    assertion_single_use, purge_expired_grants, refresh_family_revocation,
    refresh_rotation_single_use, user_tokens_and_scope,
};

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
        store.insert_app(&app, &[], &[]).await.unwrap();
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
