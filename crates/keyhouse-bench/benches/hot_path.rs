//! Criterion micro-benchmarks for the pieces on the token hot path (issue 4 §3):
//! token generation and hashing, client-secret comparison, PKCE, parsing of
//! token requests, the scope check, and the lookups validation and issuance do
//! (session table in memory; SQLite for the shared-database miss path).
//!
//! `cargo bench -p keyhouse-bench` (add `-- --quick` for a short run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use keyhouse_core::access::{
    Action, Actor, AppActor, Audience, ConnectedApp, GrantType, OrgTree, Organization, ScopeGrant,
};
use keyhouse_core::authn::sessions::SessionTable;
use keyhouse_core::authn::token::{mint, AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{EnvId, OrgId, UserId};
use keyhouse_core::oauth::{pkce, secret};
use keyhouse_core::store::{AppStore, TokenStore};
use keyhouse_core::time_fmt::Timestamp;

fn tokens(c: &mut Criterion) {
    c.bench_function("token/mint (256-bit random + SHA-256)", |b| b.iter(mint));
    let presented = mint().secret;
    c.bench_function("token/hash presented bearer", |b| {
        b.iter(|| TokenHash::of(black_box(&presented)))
    });
    let issued = secret::generate();
    let shown = issued.secret.clone();
    c.bench_function("secret/constant-time match", |b| {
        b.iter(|| secret::matches(black_box(&shown), &issued.hash))
    });
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    c.bench_function("pkce/S256 verify", |b| {
        b.iter(|| pkce::verifies(black_box(verifier), black_box(challenge)))
    });
}

fn parsing(c: &mut Criterion) {
    let mut form = HeaderMap::new();
    form.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let form_body = Bytes::from_static(
        b"grant_type=client_credentials&client_id=7d72415f862044199be3b739848e6adb&client_secret=c598FdC0d3A94B92BDc3527E63ebAb91&scope=full",
    );
    c.bench_function("parse/token request form", |b| {
        b.iter(|| keyhouse_http::oauth::params::parse(&form, black_box(&form_body)).unwrap())
    });
    let mut json = HeaderMap::new();
    json.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let json_body = Bytes::from_static(
        br#"{"grant_type":"client_credentials","client_id":"7d72415f862044199be3b739848e6adb","client_secret":"c598FdC0d3A94B92BDc3527E63ebAb91"}"#,
    );
    c.bench_function("parse/token request JSON", |b| {
        b.iter(|| keyhouse_http::oauth::params::parse(&json, black_box(&json_body)).unwrap())
    });
}

fn app(org: OrgId) -> ConnectedApp {
    ConnectedApp {
        client_id: "7d72415f862044199be3b739848e6adb".into(),
        secret_hash: secret::generate().hash,
        name: "bench".into(),
        org_id: org,
        owner_user_id: UserId::generate(),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        public_keys: vec![],
        scopes: vec![],
        audience: Audience::Internal,
        client_uri: None,
        policy_uri: None,
        enabled: true,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        secret_updated_at: Timestamp(0),
        public_client: false,
    }
}

fn org(id: OrgId) -> Organization {
    Organization {
        id,
        name: "o".into(),
        client_id: String::new(),
        parent_id: None,
        root_id: id,
        owner_id: UserId::generate(),
        domain: None,
        session_timeout_minutes: 60,
        entitlements: serde_json::json!({}),
        properties: serde_json::json!({}),
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn scope_check(c: &mut Criterion) {
    let root = OrgId::generate();
    let tree = OrgTree::new(vec![org(root)]);
    let env = EnvId::generate();
    let mut grants: Vec<ScopeGrant> = (0..9)
        .map(|_| ScopeGrant {
            scope: "manage:apis".into(),
            org: Some(root),
            env: Some(EnvId::generate()),
        })
        .collect();
    grants.push(ScopeGrant {
        scope: "view:environment".into(),
        org: Some(root),
        env: Some(env),
    });
    let actor = Actor::App(AppActor {
        app: app(root),
        grants,
        root_id: root,
    });
    c.bench_function("scope/check app with 10 scopes", |b| {
        b.iter(|| {
            actor
                .check(&tree, root, black_box(Action::ViewEnvironment(env)))
                .unwrap()
        })
    });
}

fn record(client: Option<&str>) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: mint().hash,
        user_id: None,
        client_id: client.map(str::to_owned),
        org_id: OrgId::generate(),
        created_at: Timestamp(1_000),
        expires_at: Timestamp(i64::MAX / 2),
        scope: None,
    }
}

fn lookups(c: &mut Criterion) {
    let table = SessionTable::new();
    let mut hashes = Vec::new();
    for _ in 0..100_000 {
        let r = record(Some("7d72415f862044199be3b739848e6adb"));
        hashes.push(r.hash);
        table.insert(r);
    }
    let mut i = 0;
    c.bench_function("session/get_live (100k live tokens)", |b| {
        b.iter(|| {
            i = (i + 1) % hashes.len();
            table.get_live(&hashes[i], Timestamp(2_000)).unwrap()
        })
    });
    c.bench_function("session/insert", |b| {
        b.iter_batched(|| record(None), |r| table.insert(r), BatchSize::SmallInput)
    });

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(async {
        let store = keyhouse_store_sqlite::SqliteStore::open(&dir.path().join("bench.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    });
    let store = Arc::new(store);
    let stored = record(None);
    // A token row needs an existing user or app (foreign keys): look up a
    // missing one in an empty table (the embedded store has no hash index;
    // validation never reads storage).
    c.bench_function("sqlite/find_token (miss, empty table)", |b| {
        b.to_async(&runtime)
            .iter(|| async { store.find_token(black_box(&stored.hash)).await.unwrap() })
    });
    c.bench_function("sqlite/find_app (miss)", |b| {
        b.to_async(&runtime).iter(|| async {
            store
                .find_app(black_box("0123456789abcdef0123456789abcdef"))
                .await
                .unwrap()
        })
    });
}

criterion_group!(benches, tokens, parsing, scope_check, lookups);
criterion_main!(benches);
