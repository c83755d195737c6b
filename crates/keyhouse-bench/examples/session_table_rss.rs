//! Resident memory of the in-memory session table (issue 4: ≤ 150 MB RSS with
//! one million live tokens).
//!
//! Why an example and not a test: RSS is a property of the whole process, so
//! each shape is measured in a fresh process, with nothing else allocated
//! around it, and printed rather than asserted (the figure depends on the
//! allocator and the machine).
//!
//! ```sh
//! cargo run --release -p keyhouse-bench --example session_table_rss -- one-app 1000000
//! ```
//!
//! Shapes:
//! - `one-app`: every token belongs to the same connected app (bench.sh's memory mode);
//! - `many-apps`: every token belongs to an app of its own (scripts/bench-scale.sh
//!   seeds one token per app);
//! - `users`: login tokens, one user each;
//! - `delegated`: an app acting for users, each token with its own user and one of
//!   a few scope strings.
//!
//! Prints RSS before and after the inserts, the growth per token, then the
//! time of one million lookups (a rough figure; criterion's `hot_path` bench
//! is the careful one).

use std::time::Instant;

use anyhow::{bail, Context};
use keyhouse_core::authn::sessions::SessionTable;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::time_fmt::Timestamp;

/// `VmRSS` of this process in kB, from `/proc/self/status`.
fn rss_kb() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line in /proc/self/status")
}

/// A cheap deterministic 64-bit generator (splitmix64): token hashes only need to
/// be distinct and uniformly spread, like SHA-256 output.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> TokenHash {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        TokenHash(bytes)
    }

    fn uuid(&mut self) -> uuid::Uuid {
        uuid::Uuid::from_u64_pair(self.next(), self.next())
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let shape = args.next().unwrap_or_else(|| "one-app".to_owned());
    let n: usize = match args.next() {
        Some(raw) => raw.parse().context("N must be a whole number")?,
        None => 1_000_000,
    };
    if !matches!(
        shape.as_str(),
        "one-app" | "many-apps" | "users" | "delegated"
    ) {
        bail!("unknown shape {shape}: one-app, many-apps, users or delegated");
    }
    let now = 1_800_000_000_000_i64;
    let org = OrgId::generate();
    let scopes = ["openid profile", "openid", "profile email openid", "full"];
    let mut mix = Mix(0x5EED);
    let table = SessionTable::new();
    let before = rss_kb()?;
    let started = Instant::now();
    let mut probes = Vec::with_capacity(65_536);
    for i in 0..n {
        let hash = mix.hash();
        let record = match shape.as_str() {
            "one-app" => AccessTokenRecord {
                hash,
                user_id: None,
                client_id: Some("7d72415f862044199be3b739848e6adb".to_owned()),
                org_id: org,
                created_at: Timestamp(now),
                expires_at: Timestamp(now + 3_600_000),
                scope: None,
            },
            "many-apps" => AccessTokenRecord {
                hash,
                user_id: None,
                client_id: Some(format!("{:016x}{:016x}", mix.next(), mix.next())),
                org_id: org,
                created_at: Timestamp(now),
                expires_at: Timestamp(now + 3_600_000),
                scope: None,
            },
            "users" => AccessTokenRecord {
                hash,
                user_id: Some(UserId(mix.uuid())),
                client_id: None,
                org_id: org,
                created_at: Timestamp(now),
                expires_at: Timestamp(now + 3_600_000),
                scope: None,
            },
            _ => AccessTokenRecord {
                hash,
                user_id: Some(UserId(mix.uuid())),
                client_id: Some("7d72415f862044199be3b739848e6adb".to_owned()),
                org_id: org,
                created_at: Timestamp(now),
                expires_at: Timestamp(now + 3_600_000),
                scope: Some(scopes[i % scopes.len()].to_owned()),
            },
        };
        if i % (n / 65_536).max(1) == 0 {
            probes.push(hash);
        }
        table.insert(record);
    }
    let insert_time = started.elapsed();
    let after = rss_kb()?;
    let per_token = (after.saturating_sub(before) as f64) * 1024.0 / n.max(1) as f64;
    println!(
        "shape {shape}: {n} tokens; RSS {:.1} MB before, {:.1} MB after: {:.0} bytes per token; inserts {:.0} ns each",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per_token,
        insert_time.as_nanos() as f64 / n.max(1) as f64
    );
    let lookups = 1_000_000_usize;
    let started = Instant::now();
    let mut found = 0_usize;
    for i in 0..lookups {
        if let Some(hash) = probes.get(i % probes.len().max(1)) {
            found += usize::from(table.get_live(hash, Timestamp(now)).is_some());
        }
    }
    println!(
        "get_live: {:.0} ns per lookup ({found} found of {lookups}); table holds {}",
        started.elapsed().as_nanos() as f64 / lookups as f64,
        table.len()
    );
    Ok(())
}
