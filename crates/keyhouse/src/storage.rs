//! Opens the configured backend and applies its migrations.

use std::sync::Arc;

use anyhow::Context;
use keyhouse_core::store::Store;
use keyhouse_store_postgres::PostgresStore;
use keyhouse_store_sqlite::SqliteStore;

use crate::config::{Database, Settings};

/// The store the settings name, migrated and ready.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.database {
        Database::SqliteFile(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating data directory {}", dir.display()))?;
            }
            let store = SqliteStore::open(path)
                .await
                .with_context(|| format!("opening SQLite database {}", path.display()))?;
            store.migrate().await.context("migrating SQLite database")?;
            Ok(Arc::new(store))
        }
        Database::SqliteUrl(url) => {
            let store = SqliteStore::open_url(url)
                .await
                .context("opening SQLite database")?;
            store.migrate().await.context("migrating SQLite database")?;
            Ok(Arc::new(store))
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            store
                .migrate()
                .await
                .context("migrating PostgreSQL database")?;
            Ok(Arc::new(store))
        }
    }
}
