//! Conformance checks: the audit query (filters, order, offset and keyset
//! paging, counts) and retention. Every backend must select exactly the same
//! events in exactly the same order.

use super::*;
use crate::audit_query::{AuditFilter, AuditPosition, AuditQuery, AuditRecord};

/// The events of a query, in the order returned.
async fn run(store: &Arc<dyn Store>, query: &AuditQuery) -> Vec<AuditEvent> {
    store
        .query_audit_events(query)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

/// Newest first, first page of 100, no filter beyond `filter`.
fn newest(filter: AuditFilter) -> AuditQuery {
    AuditQuery {
        filter,
        ascending: false,
        after: None,
        offset: 0,
        limit: 100,
    }
}

/// An event of `t` with the given facts.
fn fact(t: &Tenant, at: i64, action: &str, object_type: &str, object: &str) -> AuditEvent {
    let mut e = t.event(action, Timestamp(at));
    e.object_type = object_type.to_owned();
    e.object_id = Some(object.to_owned());
    e
}

/// Each filter narrows to exactly the matching events of the one organization;
/// lists are ORed within and ANDed across; dates are inclusive at both ends;
/// hostile strings are plain values.
pub async fn audit_query_filters(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let other_user = t.user(&store).await;
    let e1 = fact(&t, 100, "app.created", "connected_app", "x1");
    let mut e2 = fact(&t, 200, "env.updated", "environment", "x2");
    e2.actor_user_id = Some(other_user.id);
    let mut e3 = fact(&t, 200, "app.created", "environment", "x3");
    e3.actor_user_id = None;
    e3.actor_client_id = Some("c1".to_owned());
    let e4 = fact(&t, 300, "app.deleted", "connected_app", "x1");
    let foreign = tenant(&store).await;
    let mut orphan = fact(&t, 200, "app.created", "connected_app", "x1");
    orphan.org_id = None;
    store
        .insert_audit_events(&[
            e1.clone(),
            e2.clone(),
            foreign.event("app.created", Timestamp(200)),
            e3.clone(),
            orphan,
            e4.clone(),
        ])
        .await
        .unwrap();

    let all = AuditFilter::org(t.org.id);
    let everything = run(&store, &newest(all.clone())).await;
    assert_eq!(
        everything,
        vec![e4.clone(), e3.clone(), e2.clone(), e1.clone()]
    );
    let mut oldest = newest(all.clone());
    oldest.ascending = true;
    assert_eq!(
        run(&store, &oldest).await,
        vec![e1.clone(), e2.clone(), e3.clone(), e4.clone()]
    );

    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: Vec<(AuditFilter, Vec<&AuditEvent>)> = vec![
        (
            AuditFilter {
                actions: s(&["app.created"]),
                ..all.clone()
            },
            vec![&e3, &e1],
        ),
        (
            AuditFilter {
                actions: s(&["app.created", "app.deleted"]),
                ..all.clone()
            },
            vec![&e4, &e3, &e1],
        ),
        (
            AuditFilter {
                object_types: s(&["environment"]),
                ..all.clone()
            },
            vec![&e3, &e2],
        ),
        (
            AuditFilter {
                object_ids: s(&["x1"]),
                ..all.clone()
            },
            vec![&e4, &e1],
        ),
        (
            AuditFilter {
                user_ids: vec![other_user.id],
                ..all.clone()
            },
            vec![&e2],
        ),
        (
            AuditFilter {
                user_ids: vec![t.owner.id, other_user.id],
                ..all.clone()
            },
            vec![&e4, &e2, &e1],
        ),
        (
            AuditFilter {
                from: Some(Timestamp(200)),
                until: Some(Timestamp(200)),
                ..all.clone()
            },
            vec![&e3, &e2],
        ),
        (
            AuditFilter {
                from: Some(Timestamp(201)),
                ..all.clone()
            },
            vec![&e4],
        ),
        (
            AuditFilter {
                until: Some(Timestamp(199)),
                ..all.clone()
            },
            vec![&e1],
        ),
        (
            AuditFilter {
                actions: s(&["app.created"]),
                object_types: s(&["environment"]),
                from: Some(Timestamp(150)),
                ..all.clone()
            },
            vec![&e3],
        ),
        (
            AuditFilter {
                actions: s(&["app.created' OR '1'='1", "%", "app.%"]),
                ..all.clone()
            },
            vec![],
        ),
        (
            AuditFilter {
                object_ids: s(&["x1\"); DELETE FROM audit_events; --"]),
                ..all.clone()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let expected: Vec<AuditEvent> = expected.into_iter().cloned().collect();
        assert_eq!(
            run(&store, &newest(filter.clone())).await,
            expected,
            "{filter:?}"
        );
        assert_eq!(
            store.count_audit_events(&filter).await.unwrap(),
            expected.len() as u64,
            "{filter:?}"
        );
    }
    assert_eq!(store.count_audit_events(&all).await.unwrap(), 4);
    let nobody = AuditFilter::org(OrgId::generate());
    assert!(run(&store, &newest(nobody.clone())).await.is_empty());
    assert_eq!(store.count_audit_events(&nobody).await.unwrap(), 0);
}

/// Offset pages and keyset pages (`after` the last record) walk the same
/// order with no duplicates and no gaps, in both directions, also among
/// events written in the same millisecond and under a filter.
pub async fn audit_query_paging(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let times = [500, 100, 300, 300, 300, 200, 400, 300, 100];
    let events: Vec<AuditEvent> = times
        .iter()
        .enumerate()
        .map(|(i, at)| {
            fact(
                &t,
                *at,
                if i % 2 == 0 { "even" } else { "odd" },
                "user",
                "u",
            )
        })
        .collect();
    // Two batches: seq keeps increasing across transactions too.
    store.insert_audit_events(&events[..4]).await.unwrap();
    store.insert_audit_events(&events[4..]).await.unwrap();
    let all = AuditFilter::org(t.org.id);
    let even = AuditFilter {
        actions: vec!["even".to_owned()],
        ..all.clone()
    };
    for filter in [all, even] {
        for ascending in [false, true] {
            let mut whole = newest(filter.clone());
            whole.ascending = ascending;
            let full: Vec<AuditRecord> = store.query_audit_events(&whole).await.unwrap();
            let positions: Vec<AuditPosition> = full.iter().map(|r| r.position).collect();
            let mut sorted = positions.clone();
            sorted.sort();
            if !ascending {
                sorted.reverse();
            }
            assert_eq!(positions, sorted, "ordered by (at, seq)");
            let full: Vec<AuditEvent> = full.into_iter().map(|r| r.event).collect();
            for limit in [1, 2, 4] {
                let mut by_offset = Vec::new();
                let mut by_keyset = Vec::new();
                let mut after = None;
                for page in 0..20u64 {
                    let mut q = whole.clone();
                    q.limit = limit;
                    q.offset = page * limit;
                    by_offset.extend(run(&store, &q).await);
                    q.offset = 0;
                    q.after = after;
                    let got = store.query_audit_events(&q).await.unwrap();
                    let Some(last) = got.last() else { break };
                    after = Some(last.position);
                    by_keyset.extend(got.into_iter().map(|r| r.event));
                }
                assert_eq!(by_offset, full, "offset pages of {limit}");
                assert_eq!(by_keyset, full, "keyset pages of {limit}");
            }
            // Keyset and offset combine: skip one past the cursor.
            let first = store.query_audit_events(&whole).await.unwrap();
            let mut q = whole.clone();
            q.after = Some(first[0].position);
            q.offset = 1;
            q.limit = 2;
            assert_eq!(run(&store, &q).await, full[2..4].to_vec());
        }
    }
}

/// Retention deletes events older than the cutoff in bounded batches, of
/// every organization, and nothing newer. (Negative instants keep this check
/// clear of the events other checks write to a shared database.)
pub async fn audit_retention_purge(store: Arc<dyn Store>) {
    let t = tenant(&store).await;
    let other = tenant(&store).await;
    let old = [
        t.event("old", Timestamp(-3_000_000)),
        t.event("old", Timestamp(-2_000_001)),
        other.event("old", Timestamp(-2_500_000)),
    ];
    let kept = [
        t.event("kept", Timestamp(-2_000_000)),
        other.event("kept", Timestamp(-1_000)),
    ];
    store.insert_audit_events(&old).await.unwrap();
    store.insert_audit_events(&kept).await.unwrap();
    let cutoff = Timestamp(-2_000_000);
    assert_eq!(store.purge_audit_events(cutoff, 2).await.unwrap(), 2);
    while store.purge_audit_events(cutoff, 2).await.unwrap() > 0 {}
    let left = run(&store, &newest(AuditFilter::org(t.org.id))).await;
    assert_eq!(left, vec![kept[0].clone()]);
    let left = run(&store, &newest(AuditFilter::org(other.org.id))).await;
    assert_eq!(left, vec![kept[1].clone()]);
}

/// Changes to apps, environments and organizations write the audit events
/// they are given in the same transaction: stored with the change, and not
/// stored when the change fails.
pub async fn audited_changes_are_atomic(store: Arc<dyn Store>) {
    use crate::access::environment::EnvType;
    use crate::access::Environment;
    use crate::ids::EnvId;
    use crate::store::StoreError;

    let t = tenant(&store).await;
    let actions = |store: Arc<dyn Store>, org: OrgId| async move {
        let mut list: Vec<String> = run(&store, &newest(AuditFilter::org(org)))
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        list.reverse();
        list
    };
    let ev = |action: &str| t.event(action, T0);

    let mut app = t.app(&store).await;
    app.name = unique("Renamed");
    store.update_app(&app, &[ev("app.updated")]).await.unwrap();
    store
        .replace_app_scopes(&app.client_id, &[], &[ev("app.scopes")])
        .await
        .unwrap();
    let env = Environment {
        id: EnvId::generate(),
        org_id: t.org.id,
        name: unique("QA"),
        env_type: EnvType::Sandbox,
        client_id: generate_client_id(),
        created_at: T0,
        updated_at: T0,
    };
    store
        .insert_environment(&env, &[ev("env.created")])
        .await
        .unwrap();
    store
        .update_environment(&env, &[ev("env.updated")])
        .await
        .unwrap();
    store
        .update_organization(&t.org, &[ev("org.updated")])
        .await
        .unwrap();
    store
        .delete_environment(env.id, &[ev("env.deleted")])
        .await
        .unwrap();
    store
        .delete_app(&app.client_id, &[ev("app.deleted")])
        .await
        .unwrap();
    let written = [
        "app.updated",
        "app.scopes",
        "env.created",
        "env.updated",
        "org.updated",
        "env.deleted",
        "app.deleted",
    ];
    assert_eq!(actions(store.clone(), t.org.id).await, written);

    // Failed changes leave no event behind.
    let missing = |r: Result<(), StoreError>| assert!(r.is_err(), "{r:?}");
    missing(store.update_app(&app, &[ev("ghost")]).await);
    missing(store.delete_app(&app.client_id, &[ev("ghost")]).await);
    missing(
        store
            .replace_app_scopes(&app.client_id, &[], &[ev("ghost")])
            .await,
    );
    missing(store.update_environment(&env, &[ev("ghost")]).await);
    missing(store.delete_environment(env.id, &[ev("ghost")]).await);
    missing(
        store
            .delete_organization(OrgId::generate(), &[ev("ghost")])
            .await,
    );
    let twin = t.app(&store).await;
    let clash = ConnectedApp {
        client_id: generate_client_id(),
        ..twin
    };
    missing(store.insert_app(&clash, &[], &[ev("ghost")]).await);
    assert_eq!(actions(store.clone(), t.org.id).await, written);
}
