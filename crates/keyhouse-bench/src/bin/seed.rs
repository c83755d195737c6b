//! `keyhouse-seed`: fills a Keyhouse SQLite database with many connected apps,
//! users and live access tokens, for `scripts/bench-scale.sh`.
//!
//! Why it exists: issue 4 asks that issuance and validation cost the same with
//! a thousand and with a million apps, users and live tokens in the store, and
//! that Keyhouse start within 3 s with a million live tokens. Creating those
//! through the HTTP API would take hours; this tool writes them straight into
//! the database in a minute or so.
//!
//! Usage: `keyhouse-seed --database DATA_DIR/keyhouse.db --count N`, on a
//! database created by `keyhouse init` (migrated, with its root organization),
//! while no Keyhouse serves it. It adds:
//!
//! - N users and N connected apps (client_credentials, no scopes, a random
//!   secret nobody knows) in new root organizations of `--per-org` (1000) apps
//!   and users each: an organization may hold at most 2000 apps (Anypoint's
//!   limit, which Keyhouse enforces), so a million apps means many tenants.
//!   Each organization's first user owns it and is its administrator; the
//!   others are members without a password (they cannot log in). The
//!   organization `keyhouse init` made is left as it is, so a benchmark can
//!   still create its own apps there;
//! - N access tokens, spread round-robin over the new apps, issued now and
//!   expiring after `--expires-minutes` (60): all live when Keyhouse starts.
//!
//! `--apps`, `--users` and `--tokens` override N for one kind.
//!
//! How: one organization, one user and one app go through the store's own
//! `insert_root_organization` and `insert_app`, so that every column is
//! encoded the way Keyhouse encodes it; the others are copies of those rows
//! made by SQL on a separate connection (`synchronous=OFF`, large
//! transactions), with their own ids, names and owners. Tokens go through the
//! store's `insert_tokens`, in batches (one transaction each); the embedded
//! store keeps no index on the token hash (migration 0008), so they append
//! to the table and its expiry and app indexes. The token strings are
//! never shown: these tokens only fill the store and the session table; the
//! benchmark makes its own.
//!
//! Prints what it added and how long each part took.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use keyhouse_core::access::organization::{default_entitlements, SESSION_TIMEOUT_DEFAULT};
use keyhouse_core::access::{Audience, ConnectedApp, GrantType, Organization, User};
use keyhouse_core::authn::token::{mint, AccessTokenRecord};
use keyhouse_core::clock::{Clock, SystemClock};
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::oauth::secret;
use keyhouse_core::store::{AppStore, OrganizationStore, TokenStore, UserStore};
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_store_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection};
use uuid::Uuid;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "keyhouse-seed",
    version,
    about = "Bench tool: adds N connected apps, N users and N live access tokens to a Keyhouse SQLite database made by `keyhouse init`."
)]
struct Args {
    /// The SQLite database file (`keyhouse.db` in the data directory).
    #[arg(long)]
    database: PathBuf,
    /// How many apps, users and tokens to add (each, unless overridden).
    #[arg(long, short = 'n', default_value_t = 1000)]
    count: u64,
    /// Apps to add (default: --count).
    #[arg(long)]
    apps: Option<u64>,
    /// Users to add (default: --count).
    #[arg(long)]
    users: Option<u64>,
    /// Live tokens to add, spread over the new apps (default: --count).
    #[arg(long)]
    tokens: Option<u64>,
    /// Apps and users per new organization (at most 2000 apps are allowed in one).
    #[arg(long, default_value_t = 1000)]
    per_org: u64,
    /// Lifetime of the tokens, from now.
    #[arg(long, default_value_t = 60)]
    expires_minutes: i64,
    /// Tokens per `insert_tokens` call (one transaction each).
    #[arg(long, default_value_t = 50_000)]
    batch: usize,
}

/// Rows per multi-row INSERT (3 bound values each, far below SQLite's limit).
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per transaction on the copying connection.
const ROWS_PER_TRANSACTION: u64 = 100_000;

/// Ids made from a random run prefix and a counter: unique within a run and
/// across runs, and computable again from the index (no list of a million ids
/// to keep).
#[derive(Debug, Clone, Copy)]
struct Ids {
    prefix: u64,
}

impl Ids {
    /// Keyhouse's client id shape: 32 lowercase hex digits.
    fn client_id(self, i: u64) -> String {
        format!("{:016x}{i:016x}", self.prefix)
    }

    /// A version-4-shaped UUID (the version and variant bits overwrite only
    /// prefix bits and the counter's top bits).
    fn user_id(self, i: u64) -> UserId {
        let bytes = *Uuid::from_u64_pair(self.prefix, i).as_bytes();
        UserId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Organization ids: another UUID space than users'.
    fn org_id(self, t: u64) -> OrgId {
        let bytes = *Uuid::from_u64_pair(!self.prefix, t).as_bytes();
        OrgId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// An organization's Anypoint client id (32 hex digits, unlike the apps').
    fn org_client_id(self, t: u64) -> String {
        format!("{:016x}{t:016x}", !self.prefix)
    }

    fn tag(self) -> String {
        format!("{:08x}", self.prefix >> 32)
    }
}

/// The columns of `table`, in order (so copies carry columns added later).
async fn columns(conn: &mut SqliteConnection, table: &str) -> anyhow::Result<Vec<String>> {
    let rows = sqlx::query("SELECT name FROM pragma_table_info($1) ORDER BY cid")
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .with_context(|| format!("reading the columns of {table}"))?;
    let names = rows
        .iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        bail!("no table {table}: is this a database made by `keyhouse init`?");
    }
    Ok(names)
}

/// `INSERT INTO table (all columns) SELECT …` copying the row where
/// `key_column = ?` (bound last), with `varied` columns taken from a VALUES
/// list of `rows` rows instead.
fn copy_statement(
    table: &str,
    all: &[String],
    key_column: &str,
    varied: &[&str],
    rows: usize,
) -> String {
    let select: Vec<String> = all
        .iter()
        .map(|c| match varied.iter().position(|v| v == c) {
            Some(i) => format!("v.column{}", i + 1),
            None => format!("t.\"{c}\""),
        })
        .collect();
    let row = format!("({})", vec!["?"; varied.len()].join(", "));
    let values = vec![row; rows].join(", ");
    let quoted: Vec<String> = all.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "INSERT INTO {table} ({}) SELECT {} FROM (VALUES {values}) AS v CROSS JOIN {table} AS t \
         WHERE t.\"{key_column}\" = ?",
        quoted.join(", "),
        select.join(", ")
    )
}

/// Copies the template row of `table` once per index in `1..count`, binding
/// the varied columns from `make`, in transactions of [`ROWS_PER_TRANSACTION`].
async fn copy_rows(
    conn: &mut SqliteConnection,
    table: &str,
    key_column: &str,
    template_key: &str,
    varied: &[&str],
    count: u64,
    make: impl Fn(u64) -> Vec<String>,
) -> anyhow::Result<()> {
    let all = columns(conn, table).await?;
    for v in varied {
        if !all.iter().any(|c| c == v) {
            bail!("table {table} has no column {v}");
        }
    }
    let full = copy_statement(table, &all, key_column, varied, ROWS_PER_STATEMENT);
    let mut next = 1;
    while next < count {
        let end = (next + ROWS_PER_TRANSACTION).min(count);
        let mut tx = conn.begin().await.context("beginning a transaction")?;
        let mut i = next;
        while i < end {
            let rows = usize::try_from((end - i).min(ROWS_PER_STATEMENT as u64))?;
            let partial;
            let sql = if rows == ROWS_PER_STATEMENT {
                &full
            } else {
                partial = copy_statement(table, &all, key_column, varied, rows);
                &partial
            };
            let mut query = sqlx::query(sql);
            for j in i..i + rows as u64 {
                for value in make(j) {
                    query = query.bind(value);
                }
            }
            query
                .bind(template_key)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("copying rows into {table}"))?;
            i += rows as u64;
        }
        tx.commit().await.context("committing")?;
        next = end;
    }
    Ok(())
}

fn template_org(ids: Ids, now: Timestamp) -> Organization {
    Organization {
        id: ids.org_id(0),
        name: format!("seed-{}-0", ids.tag()),
        client_id: ids.org_client_id(0),
        parent_id: None,
        root_id: ids.org_id(0),
        owner_id: ids.user_id(0),
        domain: None,
        session_timeout_minutes: SESSION_TIMEOUT_DEFAULT,
        entitlements: default_entitlements(),
        properties: serde_json::json!({}),
        created_at: now,
        updated_at: now,
    }
}

fn template_user(ids: Ids, now: Timestamp) -> User {
    User {
        id: ids.user_id(0),
        org_id: ids.org_id(0),
        username: format!("seed-{}-0", ids.tag()),
        first_name: "Seed".to_owned(),
        last_name: "User".to_owned(),
        email: format!("seed-{}-0@example.com", ids.tag()),
        phone_number: None,
        password_hash: None,
        enabled: true,
        created_at: now,
        updated_at: now,
        last_login: None,
    }
}

fn template_app(ids: Ids, now: Timestamp) -> ConnectedApp {
    ConnectedApp {
        client_id: ids.client_id(0),
        secret_hash: secret::generate().hash,
        name: format!("seed-{}-0", ids.tag()),
        org_id: ids.org_id(0),
        owner_user_id: ids.user_id(0),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: Vec::new(),
        public_keys: Vec::new(),
        scopes: Vec::new(),
        audience: Audience::Internal,
        client_uri: None,
        policy_uri: None,
        enabled: true,
        created_at: now,
        updated_at: now,
        secret_updated_at: now,
        public_client: false,
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let apps = args.apps.unwrap_or(args.count);
    let users = args.users.unwrap_or(args.count);
    let tokens = args.tokens.unwrap_or(args.count);
    let per_org = args.per_org;
    if !(1..=2000).contains(&per_org) {
        bail!("--per-org must be between 1 and 2000 (the apps allowed in one organization)");
    }
    if tokens > 0 && apps == 0 {
        bail!("tokens are spread over the new apps: --apps must be at least 1");
    }
    // Every organization needs its owner: the first user of its block.
    let orgs = apps.max(users).div_ceil(per_org);
    if users < orgs.saturating_sub(1) * per_org + 1 && orgs > 0 {
        bail!(
            "{orgs} organizations of {per_org} need at least {} users (their owners)",
            orgs.saturating_sub(1) * per_org + 1
        );
    }
    if !args.database.is_file() {
        bail!(
            "{} does not exist: run `keyhouse --data-dir DIR init` first",
            args.database.display()
        );
    }
    let store = SqliteStore::open(&args.database)
        .await
        .with_context(|| format!("opening {}", args.database.display()))?;
    if store.list_root_organizations().await?.is_empty() {
        bail!("no root organization: run `keyhouse init` first");
    }
    let options = SqliteConnectOptions::new()
        .filename(&args.database)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(true)
        .pragma("cache_size", "-262144");
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .context("opening a second connection")?;
    let ids = Ids {
        prefix: Uuid::new_v4().as_u64_pair().0,
    };
    let tag = ids.tag();
    let now = SystemClock.now();
    let started = Instant::now();
    let org_of = |i: u64| ids.org_id(i / per_org).to_string();
    let owner_of = |i: u64| ids.user_id(i / per_org * per_org).to_string();

    if orgs > 0 {
        let org = template_org(ids, now);
        let owner = template_user(ids, now);
        store
            .insert_root_organization(&org, &[], &owner)
            .await
            .context("inserting the template organization")?;
        copy_rows(
            &mut conn,
            "organizations",
            "id",
            &org.id.to_string(),
            &["id", "name", "client_id", "root_id", "owner_id"],
            orgs,
            |t| {
                let id = ids.org_id(t).to_string();
                vec![
                    id.clone(),
                    format!("seed-{tag}-{t}"),
                    ids.org_client_id(t),
                    id,
                    ids.user_id(t * per_org).to_string(),
                ]
            },
        )
        .await?;
        let owner_id = owner.id.to_string();
        copy_rows(
            &mut conn,
            "users",
            "id",
            &owner_id,
            &["id", "org_id", "username", "username_key", "email"],
            users,
            |i| {
                let name = format!("seed-{tag}-{i}");
                vec![
                    ids.user_id(i).to_string(),
                    org_of(i),
                    name.clone(),
                    name.clone(),
                    format!("{name}@example.com"),
                ]
            },
        )
        .await?;
        copy_rows(
            &mut conn,
            "memberships",
            "user_id",
            &owner_id,
            &["user_id", "org_id", "role"],
            users,
            |i| {
                let role = match i % per_org {
                    0 => "admin",
                    _ => "member",
                };
                vec![ids.user_id(i).to_string(), org_of(i), role.to_owned()]
            },
        )
        .await?;
        let (last_org, last_user) = (orgs - 1, users - 1);
        let found = store
            .find_organization(ids.org_id(last_org))
            .await?
            .context("a copied organization is missing")?;
        let user = store
            .find_user(ids.user_id(last_user))
            .await?
            .context("a copied user is missing")?;
        let memberships = store.list_memberships(user.id).await?;
        if found.owner_id != ids.user_id(last_org * per_org)
            || found.root_id != found.id
            || user.org_id != ids.org_id(last_user / per_org)
            || memberships.len() != 1
        {
            bail!("copies read back wrong: {found:?}, {user:?}, {memberships:?}");
        }
    }
    let users_done = started.elapsed();

    if apps > 0 {
        let template = template_app(ids, now);
        store
            .insert_app(&template, &[], &[])
            .await
            .context("inserting the template app")?;
        copy_rows(
            &mut conn,
            "connected_apps",
            "client_id",
            &template.client_id,
            &["client_id", "name", "name_key", "org_id", "owner_user_id"],
            apps,
            |i| {
                let name = format!("seed-{tag}-{i}");
                vec![ids.client_id(i), name.clone(), name, org_of(i), owner_of(i)]
            },
        )
        .await?;
        // What the copies hold must read back as Keyhouse reads its own apps.
        let last = apps - 1;
        let found = store
            .find_app(&ids.client_id(last))
            .await?
            .context("a copied app is missing")?;
        if found.name != format!("seed-{tag}-{last}")
            || found.org_id != ids.org_id(last / per_org)
            || found.secret_hash != template.secret_hash
        {
            bail!("a copied app reads back wrong: {found:?}");
        }
    }
    let apps_done = started.elapsed();

    let expires_at = now.plus_minutes(args.expires_minutes);
    let batch = u64::try_from(args.batch.max(1))?;
    let mut made = 0;
    while made < tokens {
        let n = (tokens - made).min(batch);
        let records: Vec<AccessTokenRecord> = (made..made + n)
            .map(|i| AccessTokenRecord {
                hash: mint().hash,
                user_id: None,
                client_id: Some(ids.client_id(i % apps)),
                org_id: ids.org_id(i % apps / per_org),
                created_at: now,
                expires_at,
                scope: None,
            })
            .collect();
        store
            .insert_tokens(&records)
            .await
            .context("inserting tokens")?;
        made += n;
    }
    let tokens_done = started.elapsed();

    // Fold the write-ahead log into the database, so that the next start
    // reads a plain file and does not replay it.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .context("checkpointing")?;
    let live: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM access_tokens WHERE expires_at > $1")
            .bind(now.0)
            .fetch_one(&mut conn)
            .await;
    conn.close().await.ok();
    println!(
        "keyhouse-seed: added {orgs} organizations with {users} users ({}), {apps} apps ({}), \
         {tokens} tokens expiring in {} min ({}), names seed-{tag}-*; {} live tokens in the database; total {}",
        seconds(users_done),
        seconds(apps_done.saturating_sub(users_done)),
        args.expires_minutes,
        seconds(tokens_done.saturating_sub(apps_done)),
        live.map_or_else(|e| format!("? ({e})"), |n| n.to_string()),
        seconds(started.elapsed()),
    );
    Ok(())
}
