//! Unit tests of the parent module.

use super::*;
use crate::authn::token::mint;

fn record(client: Option<&str>) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: mint().hash,
        user_id: None,
        client_id: client.map(str::to_owned),
        org_id: OrgId::generate(),
        created_at: Timestamp(1_000),
        expires_at: Timestamp(2_000),
        scope: None,
    }
}

/// Distinct values held in the side tables of all shards.
fn interned(table: &SessionTable) -> usize {
    table
        .shards
        .iter()
        .map(|s| {
            let s = read(s);
            s.ids.len() + s.texts.len() + s.lifetimes.len()
        })
        .sum()
}

#[test]
fn entries_are_sixty_bytes() {
    assert_eq!(std::mem::size_of::<Entry>(), 60);
}

#[test]
fn entries_round_trip_expire_and_share_client_ids() {
    let table = SessionTable::with_shards(1);
    let a = record(Some("app"));
    let b = record(Some("app"));
    table.insert(a.clone());
    table.insert(b.clone());
    assert_eq!(table.get_live(&a.hash, Timestamp(1_500)), Some(a.clone()));
    {
        let shard = read(&table.shards[0]);
        assert_eq!(shard.texts.len(), 1, "client ids are interned");
        assert_eq!(shard.lifetimes.len(), 1, "lifetimes are interned");
    }
    table.remove_client("app");
    assert!(table.get_live(&b.hash, Timestamp(1_500)).is_none());
    let c = record(None);
    table.insert(c.clone());
    assert!(
        table.get_live(&c.hash, Timestamp(2_000)).is_none(),
        "expired"
    );
    assert!(table.is_empty());
    assert_eq!(interned(&table), 0, "values go with their last token");
}

#[test]
fn interned_fields_round_trip_exactly() {
    let table = SessionTable::new();
    let user = UserId::generate();
    let org = OrgId::generate();
    let cases = [
        // Keyhouse's own client ids are packed to 16 bytes.
        ("7d72415f862044199be3b739848e6adb", None, 1_000, 3_601_000),
        // Upper case, odd lengths and non-hex stay strings, unchanged.
        (
            "7D72415F862044199BE3B739848E6ADB",
            Some("openid profile"),
            5,
            6,
        ),
        ("7d72415f862044199be3b739848e6ad", Some("full"), -7, 9),
        ("7d72415f862044199be3b739848e6adbb", Some(""), 0, 1),
        (
            "client ünïcode",
            Some("7d72415f862044199be3b739848e6adb"),
            1,
            2,
        ),
        // Lifetimes that do not fit 32 bits, negative and inverted times.
        ("app", None, i64::MIN, i64::MAX),
        ("app", None, 1_000, i64::MAX / 2),
        ("app", None, 10, -10),
    ];
    let mut records = Vec::new();
    for (i, (client, scope, created, expires)) in cases.into_iter().enumerate() {
        let r = AccessTokenRecord {
            hash: mint().hash,
            user_id: (i & 1 == 0).then_some(user),
            client_id: (i != 3).then(|| client.to_owned()),
            org_id: org,
            created_at: Timestamp(created),
            expires_at: Timestamp(expires),
            scope: scope.map(str::to_owned),
        };
        table.insert(r.clone());
        records.push(r);
    }
    for r in &records {
        let now = Timestamp(r.expires_at.0.saturating_sub(1));
        assert_eq!(table.get_live(&r.hash, now).as_ref(), Some(r));
    }
    // Replacing a token keeps one entry and drops the old values.
    let mut replaced = records[0].clone();
    replaced.client_id = Some("other".to_owned());
    replaced.user_id = None;
    table.insert(replaced.clone());
    assert_eq!(table.len(), records.len());
    assert_eq!(table.get_live(&replaced.hash, Timestamp(0)), Some(replaced));
    table.purge_expired(Timestamp(i64::MAX));
    assert!(table.is_empty());
    assert_eq!(interned(&table), 0);
}

#[test]
fn removals_keep_the_index_consistent() {
    let table = SessionTable::with_shards(2);
    let user = UserId::generate();
    let hex_app = "0123456789abcdef0123456789abcdef";
    let mut records = Vec::new();
    for i in 0..5_000_u32 {
        let mut r = record(Some(match i % 3 {
            0 => hex_app,
            _ => "plain-app",
        }));
        r.user_id = (i & 1 == 0).then_some(user);
        r.expires_at = Timestamp(2_000 + i64::from(i % 10));
        table.insert(r.clone());
        records.push(r);
    }
    let live = |r: &AccessTokenRecord| table.get_live(&r.hash, Timestamp(1_500)).is_some();
    // Every other one of the first thousand, one by one.
    for r in records.iter().take(1_000).step_by(2) {
        table.remove(&r.hash);
    }
    table.remove_user_client(user, hex_app);
    table.remove_delegated("plain-app");
    let expected =
        |i: usize, r: &AccessTokenRecord| !(i < 1_000 && i & 1 == 0) && r.user_id.is_none();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(live(r), expected(i, r), "token {i}");
    }
    let after_purge = |i: usize, r: &AccessTokenRecord| expected(i, r) && r.expires_at.0 > 2_004;
    let remaining = records
        .iter()
        .enumerate()
        .filter(|(i, r)| after_purge(*i, r))
        .count();
    assert_eq!(table.purge_expired(Timestamp(2_004)), remaining);
    table.remove_client(hex_app);
    for (i, r) in records.iter().enumerate() {
        let kept = after_purge(i, r) && r.client_id.as_deref() == Some("plain-app");
        assert_eq!(live(r), kept, "token {i}");
    }
    table.clear();
    assert!(table.is_empty());
    assert_eq!(interned(&table), 0);
}

#[test]
fn lookups_count_hits_and_misses() {
    let table = SessionTable::with_shards(4);
    let live = record(None);
    table.insert(live.clone());
    assert!(table.get_live(&live.hash, Timestamp(1_500)).is_some());
    assert!(table.get_live(&live.hash, Timestamp(1_600)).is_some());
    assert!(table.get_live(&mint().hash, Timestamp(1_500)).is_none());
    assert!(
        table.get_live(&live.hash, Timestamp(2_000)).is_none(),
        "expired"
    );
    assert_eq!(table.lookups(), (2, 2));
}
