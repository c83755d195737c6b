//! Storage conformance for multi-factor authentication ([`crate::store_mfa::MfaStore`]).
//! Like the other suites, each check makes its own organization and users, so
//! checks can share one database and run in parallel; live rows expire at
//! [`LATER`], far past the instant the purge check purges at.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use crate::access::organization::default_entitlements;
use crate::access::{Membership, Organization, Role, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::mint;
use crate::ids::{generate_client_id, OrgId, UserId};
use crate::store::{Store, StoreError};
use crate::store_mfa::{MfaChallenge, MfaFactor, MfaProof, MfaPurpose};
use crate::time_fmt::Timestamp;

/// "Now" in these checks.
const T0: Timestamp = Timestamp(1_800_000_000_000);
/// Long enough for any row that must outlive a check.
const LATER: Timestamp = Timestamp(1_900_000_000_000);

fn person(org: OrgId) -> User {
    User {
        id: UserId::generate(),
        org_id: org,
        username: format!("mfa-{}", &UserId::generate().to_string()[..8]),
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

/// A new root organization; returns it with its owner.
async fn tenant(store: &Arc<dyn Store>) -> (Organization, User) {
    let id = OrgId::generate();
    let owner = person(id);
    let org = Organization {
        id,
        name: "MFA".to_owned(),
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

async fn member(store: &Arc<dyn Store>, org: OrgId) -> User {
    let user = person(org);
    let membership = Membership {
        user_id: user.id,
        org_id: org,
        role: Role::Member,
    };
    store.insert_user(&user, &[membership]).await.unwrap();
    user
}

fn event(org: OrgId, user: UserId, action: &str) -> AuditEvent {
    AuditEvent::new(T0, action, "user")
        .org(org)
        .user(user)
        .object(user.to_string())
}

async fn audit_total(store: &Arc<dyn Store>, org: OrgId) -> u64 {
    store.list_audit_events(org, 0, 1).await.unwrap().total
}

fn unconfirmed(user: UserId, secret: &str) -> MfaFactor {
    MfaFactor {
        user_id: user,
        secret: secret.to_owned(),
        confirmed_at: None,
        created_at: T0,
        last_step: 0,
    }
}

/// A user with a confirmed factor (last step 100) and recovery codes `[1; 32]`, `[2; 32]`.
async fn enrolled(store: &Arc<dyn Store>, org: OrgId) -> User {
    let user = member(store, org).await;
    store
        .start_mfa_factor(&unconfirmed(user.id, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        .await
        .unwrap();
    assert!(store
        .confirm_mfa_factor(
            user.id,
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            100,
            T0,
            &[[1; 32], [2; 32]],
            &[],
        )
        .await
        .unwrap());
    user
}

fn challenge(user: UserId, expires_at: Timestamp) -> MfaChallenge {
    MfaChallenge {
        hash: mint().hash,
        user_id: user,
        purpose: MfaPurpose::Verify,
        created_at: T0,
        expires_at,
    }
}

fn session(user: UserId) -> BrowserSession {
    BrowserSession {
        hash: mint().hash,
        user_id: user,
        auth_time: T0,
        created_at: T0,
        expires_at: LATER,
    }
}

/// Enrollment: an unconfirmed factor can be restarted, is confirmed only with
/// its current secret and a later step, together with the recovery codes and
/// audit events; a confirmed factor is never replaced.
pub async fn mfa_enrollment(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = member(&store, org.id).await;
    assert_eq!(store.find_mfa_factor(user.id).await.unwrap(), None);
    store
        .start_mfa_factor(&unconfirmed(user.id, "AAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .await
        .unwrap();
    let restarted = unconfirmed(user.id, "BBBBBBBBBBBBBBBBBBBBBBBBBB");
    store.start_mfa_factor(&restarted).await.unwrap();
    assert_eq!(
        store.find_mfa_factor(user.id).await.unwrap(),
        Some(restarted.clone())
    );

    // The secret of the abandoned start no longer confirms anything.
    let audit = || [event(org.id, user.id, "mfa.enrolled")];
    let stale = store
        .confirm_mfa_factor(
            user.id,
            "AAAAAAAAAAAAAAAAAAAAAAAAAA",
            50,
            T0,
            &[[9; 32]],
            &audit(),
        )
        .await
        .unwrap();
    assert!(!stale);
    assert_eq!(store.count_recovery_codes(user.id).await.unwrap(), 0);
    assert_eq!(audit_total(&store, org.id).await, 0);

    let hashes: Vec<[u8; 32]> = (1..=10u8).map(|i| [i; 32]).collect();
    assert!(store
        .confirm_mfa_factor(user.id, &restarted.secret, 50, T0, &hashes, &audit())
        .await
        .unwrap());
    let confirmed = store.find_mfa_factor(user.id).await.unwrap().unwrap();
    assert_eq!(confirmed.confirmed_at, Some(T0));
    assert_eq!(confirmed.last_step, 50);
    assert!(confirmed.is_confirmed());
    assert_eq!(store.count_recovery_codes(user.id).await.unwrap(), 10);
    assert_eq!(audit_total(&store, org.id).await, 1);

    // Confirmed: neither confirmed again nor replaced by a new start.
    assert!(!store
        .confirm_mfa_factor(user.id, &restarted.secret, 60, T0, &[], &[])
        .await
        .unwrap());
    let replaced = store
        .start_mfa_factor(&unconfirmed(user.id, "CCCCCCCCCCCCCCCCCCCCCCCCCC"))
        .await;
    assert!(
        matches!(replaced, Err(StoreError::Conflict(_))),
        "{replaced:?}"
    );
    assert_eq!(
        store.find_mfa_factor(user.id).await.unwrap(),
        Some(confirmed)
    );
}

/// A pending sign-in becomes a browser session only with an accepted proof:
/// a TOTP step later than the last one, or an unused recovery code; a refused
/// proof changes nothing, and the challenge is single use.
pub async fn mfa_challenge_completion(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = enrolled(&store, org.id).await;
    let audit = || [event(org.id, user.id, "mfa.verified")];

    let first = challenge(user.id, LATER);
    store.insert_mfa_challenge(&first).await.unwrap();
    assert_eq!(
        store.find_mfa_challenge(&first.hash).await.unwrap(),
        Some(first.clone())
    );
    for refused in [
        MfaProof::Totp { step: 100 },
        MfaProof::Totp { step: 99 },
        MfaProof::RecoveryCode { hash: [7; 32] },
    ] {
        let s = session(user.id);
        assert!(
            !store
                .complete_mfa_challenge(&first.hash, user.id, &refused, T0, &s, &audit())
                .await
                .unwrap(),
            "{refused:?} was accepted"
        );
        assert_eq!(store.find_browser_session(&s.hash).await.unwrap(), None);
    }
    assert!(store
        .find_mfa_challenge(&first.hash)
        .await
        .unwrap()
        .is_some());
    assert_eq!(audit_total(&store, org.id).await, 0);

    let s = session(user.id);
    let step = MfaProof::Totp { step: 101 };
    assert!(store
        .complete_mfa_challenge(&first.hash, user.id, &step, T0, &s, &audit())
        .await
        .unwrap());
    assert_eq!(
        store.find_browser_session(&s.hash).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.find_mfa_challenge(&first.hash).await.unwrap(), None);
    assert_eq!(
        store
            .find_mfa_factor(user.id)
            .await
            .unwrap()
            .unwrap()
            .last_step,
        101
    );
    assert_eq!(audit_total(&store, org.id).await, 1);
    // The challenge is gone: even a fresh step does not complete it again.
    let again = MfaProof::Totp { step: 102 };
    assert!(!store
        .complete_mfa_challenge(
            &first.hash,
            user.id,
            &again,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());

    // The same step on a new sign-in is a replay.
    let second = challenge(user.id, LATER);
    store.insert_mfa_challenge(&second).await.unwrap();
    assert!(!store
        .complete_mfa_challenge(
            &second.hash,
            user.id,
            &step,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());

    // A recovery code works once.
    let code = MfaProof::RecoveryCode { hash: [1; 32] };
    assert!(store
        .complete_mfa_challenge(
            &second.hash,
            user.id,
            &code,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());
    assert_eq!(store.count_recovery_codes(user.id).await.unwrap(), 1);
    let third = challenge(user.id, LATER);
    store.insert_mfa_challenge(&third).await.unwrap();
    assert!(!store
        .complete_mfa_challenge(&third.hash, user.id, &code, T0, &session(user.id), &audit())
        .await
        .unwrap());

    // Another user's challenge, an expired one, or `Enrolled` without a
    // confirmed factor: refused.
    let other = member(&store, org.id).await;
    let theirs = challenge(other.id, LATER);
    store.insert_mfa_challenge(&theirs).await.unwrap();
    let late = MfaProof::Totp { step: 500 };
    assert!(!store
        .complete_mfa_challenge(
            &theirs.hash,
            user.id,
            &late,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());
    assert!(!store
        .complete_mfa_challenge(
            &theirs.hash,
            other.id,
            &MfaProof::Enrolled,
            T0,
            &session(other.id),
            &audit()
        )
        .await
        .unwrap());
    let expired = challenge(user.id, Timestamp(T0.0 - 1));
    store.insert_mfa_challenge(&expired).await.unwrap();
    assert!(!store
        .complete_mfa_challenge(
            &expired.hash,
            user.id,
            &late,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());
    assert!(store
        .complete_mfa_challenge(
            &third.hash,
            user.id,
            &MfaProof::Enrolled,
            T0,
            &session(user.id),
            &audit()
        )
        .await
        .unwrap());
    assert_eq!(audit_total(&store, org.id).await, 3);
}

/// Of 8 sign-ins racing with the same TOTP step, exactly one completes.
pub async fn mfa_step_single_use(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = enrolled(&store, org.id).await;
    let mut racers = Vec::new();
    for _ in 0..8 {
        let c = challenge(user.id, LATER);
        store.insert_mfa_challenge(&c).await.unwrap();
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store
                .complete_mfa_challenge(
                    &c.hash,
                    c.user_id,
                    &MfaProof::Totp { step: 200 },
                    T0,
                    &session(c.user_id),
                    &[],
                )
                .await
        }));
    }
    let mut won = 0;
    for racer in racers {
        if racer.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

/// Turning MFA off consumes the proof first (a refused proof changes nothing);
/// a reset without proof removes factor and codes; the org policy is stored
/// with its audit event.
pub async fn mfa_reset_and_policy(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = enrolled(&store, org.id).await;
    let audit = || [event(org.id, user.id, "mfa.reset")];
    let replay = MfaProof::Totp { step: 100 };
    assert!(!store
        .delete_mfa_factor(user.id, Some(&replay), T0, &audit())
        .await
        .unwrap());
    assert!(store.find_mfa_factor(user.id).await.unwrap().is_some());
    assert_eq!(audit_total(&store, org.id).await, 0);
    let code = MfaProof::RecoveryCode { hash: [2; 32] };
    assert!(store
        .delete_mfa_factor(user.id, Some(&code), T0, &audit())
        .await
        .unwrap());
    assert_eq!(store.find_mfa_factor(user.id).await.unwrap(), None);
    assert_eq!(store.count_recovery_codes(user.id).await.unwrap(), 0);
    assert_eq!(audit_total(&store, org.id).await, 1);
    assert!(!store
        .delete_mfa_factor(user.id, None, T0, &audit())
        .await
        .unwrap());

    let admin_reset = enrolled(&store, org.id).await;
    assert!(store
        .delete_mfa_factor(admin_reset.id, None, T0, &audit())
        .await
        .unwrap());
    assert_eq!(store.find_mfa_factor(admin_reset.id).await.unwrap(), None);

    assert!(!store.find_mfa_required(org.id).await.unwrap());
    let policy = || [event(org.id, user.id, "org.mfa_policy_changed")];
    store
        .set_mfa_required(org.id, true, &policy())
        .await
        .unwrap();
    assert!(store.find_mfa_required(org.id).await.unwrap());
    store
        .set_mfa_required(org.id, false, &policy())
        .await
        .unwrap();
    assert!(!store.find_mfa_required(org.id).await.unwrap());
    assert_eq!(audit_total(&store, org.id).await, 4);
    let missing = store
        .set_mfa_required(OrgId::generate(), true, &policy())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert!(!store.find_mfa_required(OrgId::generate()).await.unwrap());
    // Updating the organization's other fields keeps the policy.
    store.set_mfa_required(org.id, true, &[]).await.unwrap();
    let mut renamed = org.clone();
    renamed.name = "Renamed".to_owned();
    store.update_organization(&renamed, &[]).await.unwrap();
    assert!(store.find_mfa_required(org.id).await.unwrap());
}

/// Expired pending sign-ins are purged; live ones stay.
pub async fn purge_expired_mfa_challenges(store: Arc<dyn Store>) {
    let (org, _) = tenant(&store).await;
    let user = member(&store, org.id).await;
    let old = challenge(user.id, Timestamp(1_600_000_000_000));
    let live = challenge(user.id, LATER);
    store.insert_mfa_challenge(&old).await.unwrap();
    store.insert_mfa_challenge(&live).await.unwrap();
    let purged = store
        .purge_expired_mfa_challenges(Timestamp(1_600_000_000_001))
        .await
        .unwrap();
    assert!(purged >= 1);
    assert_eq!(store.find_mfa_challenge(&old.hash).await.unwrap(), None);
    assert!(store
        .find_mfa_challenge(&live.hash)
        .await
        .unwrap()
        .is_some());
}
