//! Storage conformance for identity providers, federated identities, pending
//! federated sign-ins and login domains ([`crate::store_idp::IdentityProviderStore`]).
//! Each check makes its own organizations, so checks can share one database
//! and run in parallel; pending sign-ins live until [`LATER`], far past the
//! instant the purge check uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::access::organization::default_entitlements;
use crate::access::{Membership, Organization, Role, User};
use crate::audit::AuditEvent;
use crate::authn::token::{mint, TokenHash};
use crate::federation::{
    ClaimMapping, FederationState, IdentityProvider, OidcSettings, Protocol, ProviderId,
    ProviderSecret,
};
use crate::ids::{generate_client_id, OrgId, UserId};
use crate::store::{Store, StoreError};
use crate::time_fmt::Timestamp;

/// Far enough ahead that no check purges it.
const LATER: Timestamp = Timestamp(1_900_000_000_000);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &UserId::generate().to_string()[..8])
}

fn person(root: OrgId) -> User {
    User {
        id: UserId::generate(),
        org_id: root,
        username: unique("fed"),
        first_name: "Ada".to_owned(),
        last_name: "Lovelace".to_owned(),
        email: "ada@example.com".to_owned(),
        phone_number: None,
        password_hash: None,
        enabled: true,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        last_login: None,
    }
}

fn organization(parent: Option<&Organization>, owner: UserId) -> Organization {
    let id = OrgId::generate();
    Organization {
        id,
        name: unique("Federated"),
        client_id: generate_client_id(),
        parent_id: parent.map(|p| p.id),
        root_id: parent.map_or(id, |p| p.root_id),
        owner_id: owner,
        domain: None,
        session_timeout_minutes: 60,
        entitlements: default_entitlements(),
        properties: serde_json::json!({}),
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
    }
}

/// A root organization with its owner.
async fn root(store: &Arc<dyn Store>) -> (Organization, User) {
    let mut owner = person(OrgId::generate());
    let org = organization(None, owner.id);
    owner.org_id = org.id;
    store
        .insert_root_organization(&org, &[], &owner)
        .await
        .unwrap();
    (org, owner)
}

fn provider(org: OrgId, name: &str, created: i64) -> IdentityProvider {
    IdentityProvider {
        id: ProviderId::generate(),
        org_id: org,
        name: name.to_owned(),
        protocol: Protocol::Oidc(OidcSettings {
            issuer: "https://idp.example.com/realms/a".to_owned(),
            client_id: "keyhouse".to_owned(),
            scopes: vec!["openid".to_owned(), "profile".to_owned()],
            claims: ClaimMapping::default(),
        }),
        secret: Some(ProviderSecret::new("upstream-secret".to_owned())),
        created_at: Timestamp(created),
        updated_at: Timestamp(created),
    }
}

fn event(org: OrgId, action: &str) -> AuditEvent {
    AuditEvent::new(Timestamp(2_000), action, "identity_provider")
        .org(org)
        .with("k", "v")
}

async fn audited(store: &Arc<dyn Store>, org: OrgId, action: &str) -> bool {
    store
        .list_audit_events(org, 0, 100)
        .await
        .unwrap()
        .data
        .iter()
        .any(|e| e.action == action)
}

/// Providers: create, read, list per organization and per tree, update
/// (secret included), name clashes, delete.
pub async fn identity_provider_lifecycle(store: Arc<dyn Store>) {
    let (org, owner) = root(&store).await;
    let group = organization(Some(&org), owner.id);
    store.insert_business_group(&group, &[]).await.unwrap();
    let first = provider(org.id, "Corp SSO", 10);
    let second = provider(group.id, "Team SSO", 20);
    store
        .insert_identity_provider(&first, &[event(org.id, "identity_provider.created")])
        .await
        .unwrap();
    store.insert_identity_provider(&second, &[]).await.unwrap();
    assert!(audited(&store, org.id, "identity_provider.created").await);

    let found = store.find_identity_provider(first.id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&first));
    assert!(store
        .find_identity_provider(ProviderId::generate())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.list_identity_providers(org.id).await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(
        store.list_identity_providers_in_tree(org.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    let oidc = store.list_identity_providers_of_kind("oidc").await.unwrap();
    assert!(oidc.contains(&first) && oidc.contains(&second));
    let saml = store.list_identity_providers_of_kind("saml").await.unwrap();
    assert!(!saml.contains(&first) && !saml.contains(&second));
    // A SAML provider round-trips, and is listed by kind.
    let saml = IdentityProvider {
        protocol: Protocol::Saml(crate::federation::SamlSettings {
            issuer: "https://idp.example/saml".to_owned(),
            sso_url: Some("https://idp.example/sso".to_owned()),
            slo_url: None,
            certificates: vec![include_str!("federation/saml/testdata/idp-cert.pem").to_owned()],
            audience: None,
            claims: crate::federation::SamlSettings::default_claims(),
            group_attribute: Some("groups".to_owned()),
            group_roles: vec![crate::federation::GroupRole {
                group: "kh-admins".to_owned(),
                role: "admin".to_owned(),
            }],
        }),
        secret: None,
        ..provider(org.id, "Corp SAML", 25)
    };
    store.insert_identity_provider(&saml, &[]).await.unwrap();
    assert_eq!(
        store.find_identity_provider(saml.id).await.unwrap(),
        Some(saml.clone())
    );
    let listed = store.list_identity_providers_of_kind("saml").await.unwrap();
    assert!(listed.contains(&saml) && !listed.contains(&first));
    // Assertion ids are single-use per provider, forgotten once expired.
    let (at, until) = (Timestamp(1_000), Timestamp(5_000));
    assert!(store
        .record_saml_assertion(saml.id, "_a1", until, at)
        .await
        .unwrap());
    assert!(!store
        .record_saml_assertion(saml.id, "_a1", until, at)
        .await
        .unwrap());
    assert!(store
        .record_saml_assertion(saml.id, "_a2", until, at)
        .await
        .unwrap());
    let later = Timestamp(6_000);
    assert!(store
        .record_saml_assertion(saml.id, "_a1", Timestamp(9_000), later)
        .await
        .unwrap());
    store.delete_identity_provider(saml.id, &[]).await.unwrap();
    let (other, _) = root(&store).await;
    assert!(store
        .list_identity_providers_in_tree(other.id)
        .await
        .unwrap()
        .is_empty());

    // Names are unique per organization, regardless of case.
    match store
        .insert_identity_provider(&provider(org.id, "corp sso", 30), &[])
        .await
    {
        Err(StoreError::Conflict(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected a conflict, got {other:?}"),
    }
    store
        .insert_identity_provider(&provider(other.id, "Corp SSO", 30), &[])
        .await
        .unwrap();

    let mut changed = first.clone();
    changed.name = "Corp SSO (new)".to_owned();
    changed.secret = Some(ProviderSecret::new("rotated".to_owned()));
    if let Protocol::Oidc(settings) = &mut changed.protocol {
        settings.claims.username = "email".to_owned();
    }
    changed.updated_at = Timestamp(40);
    store
        .update_identity_provider(&changed, &[event(org.id, "identity_provider.updated")])
        .await
        .unwrap();
    assert_eq!(
        store.find_identity_provider(first.id).await.unwrap(),
        Some(changed.clone())
    );
    assert!(audited(&store, org.id, "identity_provider.updated").await);
    let third = provider(org.id, "Third", 50);
    store.insert_identity_provider(&third, &[]).await.unwrap();
    let mut clash = third.clone();
    clash.name = "CORP SSO (NEW)".to_owned();
    assert!(matches!(
        store.update_identity_provider(&clash, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    let mut absent = third.clone();
    absent.id = ProviderId::generate();
    absent.name = unique("Absent");
    assert!(matches!(
        store.update_identity_provider(&absent, &[]).await,
        Err(StoreError::NotFound)
    ));
    let mut renamed = second.clone();
    renamed.name = "Team SSO 2".to_owned();
    store.update_identity_provider(&renamed, &[]).await.unwrap();

    store
        .delete_identity_provider(first.id, &[event(org.id, "identity_provider.deleted")])
        .await
        .unwrap();
    assert!(store
        .find_identity_provider(first.id)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store.delete_identity_provider(first.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(audited(&store, org.id, "identity_provider.deleted").await);
}

/// Just-in-time provisioning is all or nothing, links are unique, profiles
/// update, and deleting a provider unlinks its users without deleting them.
pub async fn federated_users(store: Arc<dyn Store>) {
    let (org, owner) = root(&store).await;
    let idp = provider(org.id, "Corp", 10);
    store.insert_identity_provider(&idp, &[]).await.unwrap();
    let subject = unique("sub");
    assert!(store
        .find_federated_user(idp.id, &subject)
        .await
        .unwrap()
        .is_none());

    let user = person(org.id);
    let member = Membership {
        user_id: user.id,
        org_id: org.id,
        role: Role::Member,
    };
    store
        .insert_federated_user(
            &user,
            &member,
            idp.id,
            &subject,
            &[event(org.id, "federation.user_provisioned")],
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_federated_user(idp.id, &subject).await.unwrap(),
        Some(user.id)
    );
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(user.clone()));
    assert_eq!(store.list_memberships(user.id).await.unwrap(), vec![member]);
    assert!(audited(&store, org.id, "federation.user_provisioned").await);

    // The same subject again, or a taken username: nothing is written.
    let again = person(org.id);
    let again_member = Membership {
        user_id: again.id,
        ..member
    };
    assert!(matches!(
        store
            .insert_federated_user(&again, &again_member, idp.id, &subject, &[])
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.find_user(again.id).await.unwrap().is_none());
    let mut same_name = person(org.id);
    same_name.username = owner.username.to_uppercase();
    let other_subject = unique("sub");
    let same_name_member = Membership {
        user_id: same_name.id,
        ..member
    };
    assert!(matches!(
        store
            .insert_federated_user(&same_name, &same_name_member, idp.id, &other_subject, &[])
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store
        .find_federated_user(idp.id, &other_subject)
        .await
        .unwrap()
        .is_none());
    assert!(store.find_user(same_name.id).await.unwrap().is_none());

    // The same subject at another provider is another person.
    let idp2 = provider(org.id, "Partner", 20);
    store.insert_identity_provider(&idp2, &[]).await.unwrap();
    assert!(store
        .find_federated_user(idp2.id, &subject)
        .await
        .unwrap()
        .is_none());

    let mut updated = user.clone();
    updated.first_name = "Augusta".to_owned();
    updated.email = "augusta@example.com".to_owned();
    updated.updated_at = Timestamp(5_000);
    store.update_federated_profile(&updated, &[]).await.unwrap();
    assert_eq!(store.find_user(user.id).await.unwrap(), Some(updated));
    assert!(matches!(
        store.update_federated_profile(&person(org.id), &[]).await,
        Err(StoreError::NotFound)
    ));

    store.delete_identity_provider(idp.id, &[]).await.unwrap();
    assert!(store
        .find_federated_user(idp.id, &subject)
        .await
        .unwrap()
        .is_none());
    assert!(store.find_user(user.id).await.unwrap().is_some());
}

fn pending(provider: ProviderId, expires: Timestamp) -> (String, FederationState) {
    let state = mint();
    let record = FederationState {
        state_hash: state.hash,
        provider_id: provider,
        binding_hash: mint().hash,
        nonce: unique("nonce"),
        pkce_verifier: mint().secret,
        request: "response_type=code&client_id=abc&state=x%26y".to_owned(),
        created_at: Timestamp(expires.0 - 600_000),
        expires_at: expires,
    };
    (state.secret, record)
}

/// A pending sign-in is consumed once, by exactly one of concurrent callers;
/// expired ones are purged; they go with their provider.
pub async fn federation_state_single_use(store: Arc<dyn Store>) {
    let (org, _) = root(&store).await;
    let idp = provider(org.id, "Corp", 10);
    store.insert_identity_provider(&idp, &[]).await.unwrap();
    let (secret, record) = pending(idp.id, LATER);
    store.insert_federation_state(&record).await.unwrap();
    let hash = TokenHash::of(&secret);
    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store.consume_federation_state(&hash).await.unwrap()
        }));
    }
    let mut won = Vec::new();
    for racer in racers {
        if let Some(got) = racer.await.unwrap() {
            won.push(got);
        }
    }
    assert_eq!(won, vec![record]);
    assert!(store
        .consume_federation_state(&hash)
        .await
        .unwrap()
        .is_none());

    // Purging removes what expired before `now` and keeps the rest.
    let expired_at = Timestamp(1_700_000_000_000);
    let (old_secret, old) = pending(idp.id, expired_at);
    let (live_secret, live) = pending(idp.id, LATER);
    store.insert_federation_state(&old).await.unwrap();
    store.insert_federation_state(&live).await.unwrap();
    assert!(
        store
            .purge_expired_federation_states(Timestamp(expired_at.0 + 1))
            .await
            .unwrap()
            >= 1
    );
    assert!(store
        .consume_federation_state(&TokenHash::of(&old_secret))
        .await
        .unwrap()
        .is_none());

    // Deleting the provider drops its pending sign-ins.
    store.delete_identity_provider(idp.id, &[]).await.unwrap();
    assert!(store
        .consume_federation_state(&TokenHash::of(&live_secret))
        .await
        .unwrap()
        .is_none());
}

/// Login domains: set, found, unique across organizations, cleared.
pub async fn organization_domains(store: Arc<dyn Store>) {
    let (org, _) = root(&store).await;
    let (other, _) = root(&store).await;
    let domain = unique("acme").to_lowercase();
    assert!(store
        .find_organization_by_domain(&domain)
        .await
        .unwrap()
        .is_none());
    store
        .set_organization_domain(org.id, Some(&domain), Timestamp(9_000))
        .await
        .unwrap();
    let found = store
        .find_organization_by_domain(&domain)
        .await
        .unwrap()
        .expect("org by domain");
    assert_eq!(found.id, org.id);
    assert_eq!(found.domain.as_deref(), Some(domain.as_str()));
    assert_eq!(found.updated_at, Timestamp(9_000));
    match store
        .set_organization_domain(other.id, Some(&domain), Timestamp(9_001))
        .await
    {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("domain"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        store
            .set_organization_domain(OrgId::generate(), Some("nobody"), Timestamp(1))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .set_organization_domain(org.id, None, Timestamp(9_002))
        .await
        .unwrap();
    assert!(store
        .find_organization_by_domain(&domain)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .find_organization(org.id)
            .await
            .unwrap()
            .unwrap()
            .domain,
        None
    );
}
