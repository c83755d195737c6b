//! Embedded SQLite storage: the zero-setup default. One file in the data
//! directory, WAL journal, `synchronous=FULL` so an acknowledged write survives
//! a crash or power loss.

mod apps;
mod audit;
mod envs;
mod error;
mod grant_rows;
mod grants;
mod idp;
mod keys;
mod mfa;
mod orgs;
mod rows;
mod tokens;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use keyhouse_core::store::{InvalidationReceiver, Store, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use error::map_err;

/// WAL pages between automatic checkpoints (SQLite's default is 1000).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// The SQLite backend; cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection of its own for the group-commit token writer (issue 4).
    /// Each SQLite connection has its own page cache, and a connection that
    /// sees another's commit must drop it; with the writer's batches spread
    /// over the eight connections of `pool`, every batch re-read the index
    /// pages it was about to change. Alone on this connection, they stay warm.
    tokens: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options).await
    }

    /// Opens a database from a `sqlite://…` URL.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid SQLite URL: {e}")))?;
        Self::with_options(options).await
    }

    async fn with_options(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A multi-row INSERT keeps a statement journal; on disk that was a
            // temporary file created and deleted by every token batch (issue 4).
            .pragma("temp_store", "MEMORY")
            // Checkpoint every 40 MB of WAL rather than 4 MB: a page changed by
            // many batches (the last leaf of the token table and its indexes)
            // is copied back once per checkpoint, so fewer checkpoints write
            // fewer bytes per token.
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let tokens = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Self { pool, tokens })
    }

    /// Applies the embedded, versioned migrations (idempotent).
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    fn is_shared(&self) -> bool {
        false
    }

    async fn subscribe_invalidations(&self) -> StoreResult<Option<InvalidationReceiver>> {
        // One process owns the file: its own memory is always current.
        Ok(None)
    }
}
