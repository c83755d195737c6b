//! PostgreSQL storage for Keyhouse: the scale-out backend, for deployments
//! where several server nodes share one database.
//!
//! Implements every trait of [`keyhouse_core::store`]; the conformance suite in
//! `keyhouse_core::conformance` holds it to the same behaviour as SQLite. All
//! SQL is parameterised and checked at run time (no `DATABASE_URL` at build).
//! Every method that writes several rows does so in one transaction.

mod apps;
mod audit;
mod envs;
mod error;
mod grant_rows;
mod grants;
mod idp;
mod invalidations;
mod keys;
mod mfa;
mod orgs;
mod rows;
mod tokens;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use keyhouse_core::store::{InvalidationReceiver, Store, StoreError, StoreResult};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::error::map_err;

/// Most connections one node opens: enough for concurrent requests, small
/// enough that several nodes stay under PostgreSQL's default `max_connections` (100).
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection before reporting `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Versioned schema migrations, embedded at compile time from `migrations/`
/// (numbered in lockstep with the SQLite backend).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL-backed [`Store`]: a connection pool shared by all requests.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a pool to `url` (`postgres://user:pass@host:port/db`) and checks that
    /// the database answers. Does not migrate: the caller decides when via [`Self::migrate`].
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(map_err)?;
        Ok(PostgresStore { pool })
    }

    /// Applies pending migrations from `migrations/`. Safe to call from several
    /// nodes or tests at once: sqlx's migrator holds a PostgreSQL advisory lock
    /// (`pg_advisory_lock`) for the whole run, so only one applies each version.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let result = MIGRATOR.run(&mut *conn).await;
        if result.is_err() {
            // A failed run may leave the session-level advisory lock held on this
            // connection; closing it (rather than pooling it) releases the lock.
            conn.close_on_drop();
        }
        result.map_err(map_migrate_err)
    }
}

/// Migration failures: database faults map as usual, anything else (a changed
/// or missing migration) is a deployment bug reported as `Corrupt`.
fn map_migrate_err(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(err) => map_err(err),
        MigrateError::ExecuteMigration(err, version) => match map_err(err) {
            StoreError::Corrupt(msg) => StoreError::Corrupt(format!("migration {version}: {msg}")),
            other => other,
        },
        other => StoreError::Corrupt(format!("migrations: {other}")),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Other nodes may write the same database, so tokens missing from memory are looked up.
    fn is_shared(&self) -> bool {
        true
    }

    async fn subscribe_invalidations(&self) -> StoreResult<Option<InvalidationReceiver>> {
        invalidations::subscribe(&self.pool).await.map(Some)
    }
}
