//! `POST /audit/v2/organizations/{orgId}/query` and its siblings: the entry
//! shape, every filter, order, offset and cursor pages, and who may read.
//! Events are seeded at chosen instants ten days back, so the window
//! `[base, base + 2 days]` holds only them (live events happen now).

use serde_json::{json, Value};

use crate::support::audit::{entries, field, now_ms, query, seed, Seed, DAY_MS};
use crate::support::{Client, TestServer};

/// `a` with the fields of `b` added (both JSON objects).
fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
        a.extend(b.clone());
    }
    a
}

/// A server with seeded events in the admin's organization and in another tenant's.
struct World {
    /// Keeps the server running as long as the world lives.
    _server: TestServer,
    admin: Client,
    org: String,
    foreign_org: String,
    base: i64,
    users: [String; 2],
}

impl World {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let admin = server.admin().await;
        let org = admin.root_org_id().await;
        let foreign_org = server
            .second_tenant("Other Tenant", "other-admin")
            .await
            .root_org_id()
            .await;
        let base = (now_ms() - 10 * DAY_MS) / 1000 * 1000;
        let users = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].map(|u| u.to_string());
        let ev = |at, org: &str, action, object_type, object: &str, user: Option<usize>| Seed {
            at,
            org: org.to_owned(),
            action,
            object_type,
            object_id: object.to_owned(),
            user_id: user.map(|i| users[i].clone()),
            client_id: None,
        };
        let mut by_app = ev(base + 1000, &org, "seed.created", "seed_env", "obj-3", None);
        by_app.client_id = Some("seed-client".to_owned());
        seed(
            &server,
            &[
                ev(base, &org, "seed.created", "seed_app", "obj-1", Some(0)),
                ev(
                    base + 1000,
                    &org,
                    "seed.updated",
                    "seed_env",
                    "obj-2",
                    Some(1),
                ),
                ev(
                    base + 1000,
                    &foreign_org,
                    "seed.created",
                    "seed_app",
                    "obj-1",
                    Some(0),
                ),
                by_app,
                ev(
                    base + 2000,
                    &org,
                    "seed.deleted",
                    "seed_app",
                    "obj-1",
                    Some(0),
                ),
                ev(
                    base + DAY_MS,
                    &org,
                    "seed.created",
                    "seed_app",
                    "obj-5",
                    Some(1),
                ),
            ],
        )
        .await;
        World {
            _server: server,
            admin,
            org,
            foreign_org,
            base,
            users,
        }
    }

    /// The seeds' window plus `extra` body fields.
    fn window(&self, extra: Value) -> Value {
        merged(
            json!({"startDate": self.base, "endDate": self.base + 2 * DAY_MS}),
            extra,
        )
    }

    /// The `objectId`s the admin gets for `body` (with `params`).
    async fn objects(&self, params: &str, body: Value) -> Vec<String> {
        field(
            &entries(&query(&self.admin, &self.org, params, body).await),
            "objectId",
        )
    }
}

#[tokio::test]
async fn entries_carry_anypoint_fields_and_each_filter_narrows() {
    let w = World::new().await;
    let resp = query(&w.admin, &w.org, "", json!({"objectIds": ["obj-3"]})).await;
    let body = resp.json();
    assert_eq!(body["total"], 1, "{body}");
    let entry = &body["data"][0];
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "timestamp",
        "organizationId",
        "userId",
        "clientId",
        "platform",
        "objectType",
        "objectId",
        "action",
        "success",
        "sourceAddress",
        "payload",
    ] {
        assert!(keys.contains(&key), "{key} missing from {entry}");
    }
    assert_eq!(entry["organizationId"], w.org.as_str());
    assert_eq!(entry["platform"], "Access Management");
    assert_eq!(entry["clientId"], "seed-client");
    assert_eq!(entry["userId"], Value::Null);
    assert_eq!(entry["action"], "seed.created");
    assert_eq!(entry["objectType"], "seed_env");
    assert_eq!(entry["success"], true);
    assert_eq!(entry["sourceAddress"], "192.0.2.7");
    assert_eq!(entry["payload"], json!({"seeded": true}));
    let stamp = entry["timestamp"].as_str().unwrap();
    assert!(
        stamp.len() == 24 && stamp.ends_with(".000Z") && &stamp[10..11] == "T",
        "{stamp}"
    );

    let cases = [
        (
            json!({"actions": ["seed.created"]}),
            vec!["obj-5", "obj-3", "obj-1"],
        ),
        (
            json!({"actions": ["seed.updated", "seed.deleted"]}),
            vec!["obj-1", "obj-2"],
        ),
        (json!({"objectTypes": ["seed_env"]}), vec!["obj-3", "obj-2"]),
        (
            json!({"objectIds": ["obj-1", "obj-5"]}),
            vec!["obj-5", "obj-1", "obj-1"],
        ),
        (json!({"userIds": [w.users[1]]}), vec!["obj-5", "obj-2"]),
        (
            json!({"actions": ["seed.created"], "objectTypes": ["seed_app"]}),
            vec!["obj-5", "obj-1"],
        ),
        (
            json!({"platforms": ["Access Management"], "objectIds": ["obj-2"]}),
            vec!["obj-2"],
        ),
        (json!({"platforms": ["API Manager"]}), vec![]),
        (
            json!({"environmentIds": [uuid::Uuid::new_v4().to_string()]}),
            vec![],
        ),
        (json!({"actions": ["seed.created' OR '1'='1"]}), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            w.objects("", w.window(filter.clone())).await,
            expected,
            "{filter}"
        );
    }
    // Another tenant's events never show, whatever the filter.
    let all = entries(&query(&w.admin, &w.org, "", json!({"actions": ["seed.created"]})).await);
    assert!(all.iter().all(|e| e["organizationId"] == w.org.as_str()));
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn date_filters_take_iso_text_and_epoch_millis_inclusively() {
    let w = World::new().await;
    let b = w.base;
    let seeds_with = |dates: Value| merged(json!({"objectTypes": ["seed_app", "seed_env"]}), dates);
    let millis = [
        (
            json!({"startDate": b + 1000, "endDate": b + 1000}),
            vec!["obj-3", "obj-2"],
        ),
        (
            json!({"startDate": b + 1001, "endDate": b + DAY_MS}),
            vec!["obj-5", "obj-1"],
        ),
        (json!({"startDate": b, "endDate": b + 999}), vec!["obj-1"]),
        (
            json!({"startDate": (b + DAY_MS).to_string()}),
            vec!["obj-5"],
        ),
        (json!({"startDate": null, "endDate": b}), vec!["obj-1"]),
    ];
    for (dates, expected) in millis {
        assert_eq!(
            w.objects("", seeds_with(dates.clone())).await,
            expected,
            "{dates}"
        );
    }
    // ISO-8601: the server's own timestamps, another offset, and a bare date.
    let second = entries(&query(&w.admin, &w.org, "", json!({"objectIds": ["obj-2"]})).await);
    let stamp = second[0]["timestamp"].as_str().unwrap().to_owned();
    let same_second = seeds_with(json!({"startDate": stamp, "endDate": stamp}));
    assert_eq!(w.objects("", same_second).await, vec!["obj-3", "obj-2"]);
    let hour: u32 = stamp[11..13].parse().unwrap();
    if hour <= 21 {
        let local = format!("{}{:02}{}+02:00", &stamp[..11], hour + 2, &stamp[13..23]);
        let shifted = seeds_with(json!({"startDate": local, "endDate": local}));
        assert_eq!(
            w.objects("", shifted).await,
            vec!["obj-3", "obj-2"],
            "{local}"
        );
    }
    let day = &stamp[..10];
    let whole_day =
        seeds_with(json!({"startDate": day, "endDate": format!("{day}T23:59:59.999Z")}));
    let got = w.objects("", whole_day).await;
    assert!(
        got.contains(&"obj-2".to_owned()) && !got.contains(&"obj-5".to_owned()),
        "{got:?}"
    );
}

#[tokio::test]
async fn newest_first_by_default_and_offset_pages_with_total() {
    let w = World::new().await;
    let newest = vec!["obj-5", "obj-1", "obj-3", "obj-2", "obj-1"];
    assert_eq!(w.objects("", w.window(json!({}))).await, newest);
    let mut oldest = newest.clone();
    oldest.reverse();
    assert_eq!(
        w.objects("", w.window(json!({"ascending": true}))).await,
        oldest
    );
    let mut paged = Vec::new();
    for offset in [0, 2, 4, 6] {
        let resp = query(
            &w.admin,
            &w.org,
            "",
            w.window(json!({"offset": offset, "limit": 2})),
        )
        .await;
        let body = resp.json();
        assert_eq!(body["total"], 5, "{body}");
        assert!(body.get("cursor").is_none(), "{body}");
        paged.extend(field(&entries(&resp), "objectId"));
    }
    assert_eq!(paged, newest);
    // limit and offset may also come in the query string; the body wins.
    assert_eq!(
        w.objects("?limit=1&offset=1", w.window(json!({}))).await,
        vec!["obj-1"]
    );
    assert_eq!(
        w.objects("?limit=1", w.window(json!({"limit": 2})))
            .await
            .len(),
        2
    );
    // Default page size 25; a body may be left out entirely.
    let none = w
        .admin
        .send(
            reqwest::Method::POST,
            &format!("/audit/v2/organizations/{}/query", w.org),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(none.status, 200, "{}", none.body);
}

/// Walks cursor pages of `limit` until `{"data": []}`; returns the ids and
/// checks every page's shape.
async fn walk(w: &World, ascending: bool, limit: u64, with_total: bool) -> Vec<String> {
    let params = if with_total {
        "?cursorPagination=true&doIncludeTotal=true"
    } else {
        "?cursorPagination=true"
    };
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut extra = json!({"limit": limit, "ascending": ascending});
        if let Some(c) = &cursor {
            extra["cursor"] = json!(c);
        }
        let resp = query(&w.admin, &w.org, params, w.window(extra)).await;
        let body = resp.json();
        let data = entries(&resp);
        assert_eq!(body.get("total").is_some(), with_total, "{body}");
        if with_total {
            assert_eq!(body["total"], 5, "{body}");
        }
        if data.is_empty() {
            assert!(
                body.get("cursor").is_none(),
                "last page has no cursor: {body}"
            );
            return ids;
        }
        cursor = Some(body["cursor"].as_str().expect("cursor").to_owned());
        ids.extend(field(&data, "id"));
    }
    panic!("cursor pages never ended");
}

#[tokio::test]
async fn cursor_pages_walk_every_event_once() {
    let w = World::new().await;
    let all_desc = field(
        &entries(&query(&w.admin, &w.org, "", w.window(json!({}))).await),
        "id",
    );
    assert_eq!(all_desc.len(), 5);
    let mut all_asc = all_desc.clone();
    all_asc.reverse();
    for limit in [1, 2, 3, 5, 1000] {
        assert_eq!(
            walk(&w, false, limit, true).await,
            all_desc,
            "limit {limit}"
        );
        assert_eq!(walk(&w, true, limit, false).await, all_asc, "limit {limit}");
    }
    // A cursor is refused in the other order, and when tampered with.
    let first = query(
        &w.admin,
        &w.org,
        "?cursorPagination=true",
        w.window(json!({"limit": 2})),
    )
    .await
    .json();
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    query(
        &w.admin,
        &w.org,
        "?cursorPagination=true",
        w.window(json!({"cursor": cursor, "ascending": true})),
    )
    .await
    .assert_error(400);
    let mut forged = cursor.clone();
    forged.push('A');
    query(
        &w.admin,
        &w.org,
        "?cursorPagination=true",
        w.window(json!({"cursor": forged})),
    )
    .await
    .assert_error(400);
    // A cursor from one organization's log reveals nothing of another's.
    let foreign = query(
        &w.admin,
        &w.foreign_org,
        "?cursorPagination=true",
        json!({"cursor": cursor}),
    )
    .await;
    foreign.assert_error(403);
}
