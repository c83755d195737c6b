//! Where `Keyhouse::start` spends time and memory loading live tokens
//! (issue 4: start-up under 3 s and at most 150 MB RSS with a million).
//!
//! Why an example: it runs the same two steps as `Keyhouse::start` on a real
//! database (one seeded by `keyhouse-seed`) and prints the wall time and RSS
//! after each, in a fresh process, so the two costs can be told apart:
//! `TokenStore::list_live_tokens` (the query, sqlx's rows, decoding them into
//! a `Vec<AccessTokenRecord>`) and inserting the records into the session table.
//!
//! ```sh
//! cargo run --release -p keyhouse-bench --example load_profile -- DATA_DIR/keyhouse.db
//! ```
//!
//! With `pages` as second argument it reads pages of 4096 tokens, each
//! aggregated by SQLite into one JSON text (one sqlx row per page), inserting
//! as it goes; `pages-vec` reads the same pages into one `Vec` first, as
//! `list_live_tokens` returns them, then inserts.
//!
//! With `stream` as second argument it loads the same rows with a streamed
//! query instead (plain sqlx, one row at a time into the table), which is
//! what a streaming `TokenStore` method would do; a third argument sets
//! sqlx's row buffer between its SQLite thread and the task (default 50).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use keyhouse_core::authn::sessions::SessionTable;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::clock::{Clock, SystemClock};
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::TokenStore;
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_sqlite::SqliteStore;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row};

/// `VmRSS` and `VmHWM` of this process in MB.
fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or_else(|| "?".to_owned(), |kb| format!("{:.0} MB", kb / 1024.0))
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<AccessTokenRecord> {
    let hash: Vec<u8> = row.try_get(0)?;
    let user: Option<String> = row.try_get(1)?;
    let org: String = row.try_get(3)?;
    Ok(AccessTokenRecord {
        hash: TokenHash(
            hash.as_slice()
                .try_into()
                .context("token_hash is not 32 bytes")?,
        ),
        user_id: user
            .map(|u| uuid::Uuid::parse_str(&u).map(UserId))
            .transpose()?,
        client_id: row.try_get(2)?,
        org_id: OrgId(uuid::Uuid::parse_str(&org)?),
        created_at: Timestamp(row.try_get(4)?),
        expires_at: Timestamp(row.try_get(5)?),
        scope: row.try_get(6)?,
    })
}

/// Tokens per page in the `pages` modes.
const PAGE: i64 = 4096;

/// One token as the `pages` query renders it.
type JsonToken = (
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
);

fn from_json(row: JsonToken) -> anyhow::Result<AccessTokenRecord> {
    let (hash, user, client_id, org, created_at, expires_at, scope) = row;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&hash, &mut bytes)?;
    Ok(AccessTokenRecord {
        hash: TokenHash(bytes),
        user_id: user
            .map(|u| uuid::Uuid::parse_str(&u).map(UserId))
            .transpose()?,
        client_id,
        org_id: OrgId(uuid::Uuid::parse_str(&org)?),
        created_at: Timestamp(created_at),
        expires_at: Timestamp(expires_at),
        scope,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().context("usage: load_profile DB [stream]")?);
    let mode = args.next().unwrap_or_else(|| "list".to_owned());
    let now = SystemClock.now();
    println!("start: {}", rss());
    let table = SessionTable::new();
    let t0 = Instant::now();
    match mode.as_str() {
        "list" => {
            let store = SqliteStore::open(&path).await?;
            println!("opened in {:.2} s: {}", t0.elapsed().as_secs_f64(), rss());
            let t = Instant::now();
            let records = store.list_live_tokens(now).await?;
            println!(
                "list_live_tokens: {} records in {:.2} s: {}",
                records.len(),
                t.elapsed().as_secs_f64(),
                rss()
            );
            let t = Instant::now();
            for record in records {
                table.insert(record);
            }
            println!(
                "inserted into the session table in {:.2} s: {}",
                t.elapsed().as_secs_f64(),
                rss()
            );
        }
        "stream" => {
            let buffer = match args.next() {
                Some(raw) => raw
                    .parse()
                    .context("the row buffer size must be a number")?,
                None => 50,
            };
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .read_only(true)
                .row_buffer_size(buffer);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            let t = Instant::now();
            let mut stream = sqlx::query(
                "SELECT token_hash, user_id, client_id, org_id, created_at, expires_at, scope \
                 FROM access_tokens WHERE expires_at > $1",
            )
            .bind(now.0)
            .fetch(&mut conn);
            let mut n = 0_u64;
            while let Some(row) = stream.try_next().await? {
                table.insert(decode(&row)?);
                n += 1;
            }
            println!(
                "streamed {n} rows into the session table in {:.2} s: {}",
                t.elapsed().as_secs_f64(),
                rss()
            );
        }
        "pages" | "pages-vec" => {
            // Pages of PAGE rows in rowid order, each aggregated by SQLite into
            // one JSON text: one sqlx row per page instead of one per token.
            let options = SqliteConnectOptions::new().filename(&path).read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            let t = Instant::now();
            let mut after = i64::MIN;
            let mut pages = 0_u64;
            let mut kept = Vec::new();
            loop {
                let (last, json): (Option<i64>, String) = sqlx::query_as(
                    "SELECT max(r), json_group_array(json_array(lower(hex(token_hash)), user_id, \
                     client_id, org_id, created_at, expires_at, scope)) FROM \
                     (SELECT rowid AS r, * FROM access_tokens WHERE rowid > $1 AND expires_at > $2 \
                     ORDER BY rowid LIMIT $3)",
                )
                .bind(after)
                .bind(now.0)
                .bind(PAGE)
                .fetch_one(&mut conn)
                .await?;
                let Some(last) = last else { break };
                after = last;
                pages += 1;
                for row in serde_json::from_str::<Vec<JsonToken>>(&json)? {
                    let record = from_json(row)?;
                    if mode == "pages" {
                        table.insert(record);
                    } else {
                        kept.push(record);
                    }
                }
            }
            println!(
                "{pages} pages of {PAGE} read in {:.2} s ({} records kept in a Vec): {}",
                t.elapsed().as_secs_f64(),
                kept.len(),
                rss()
            );
            let t = Instant::now();
            for record in kept {
                table.insert(record);
            }
            println!(
                "then inserted in {:.2} s: {}",
                t.elapsed().as_secs_f64(),
                rss()
            );
        }
        other => bail!("unknown mode {other}: list, stream, pages or pages-vec"),
    }
    println!(
        "total {:.2} s; table holds {}: {}",
        t0.elapsed().as_secs_f64(),
        table.len(),
        rss()
    );
    Ok(())
}
