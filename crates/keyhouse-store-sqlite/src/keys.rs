//! ID-token signing keys: persisted so every restart and node signs alike.

use async_trait::async_trait;
use keyhouse_core::oidc::keys::SigningKeyRecord;
use keyhouse_core::store::{KeyStore, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::SqliteConnection;

use crate::error::map_err;
use crate::rows::{self, KEY_COLUMNS};
use crate::SqliteStore;

/// Inserts one `signing_keys` row (inside the caller's transaction, if any).
async fn insert_key_row(conn: &mut SqliteConnection, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
    ))
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.private_pem)
    .bind(key.created_at.0)
    .bind(key.retired_at.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_key_row(&mut conn, key).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(rows::signing_key)
        .collect()
    }

    async fn rotate_signing_key(
        &self,
        new_key: &SigningKeyRecord,
        at: Timestamp,
    ) -> StoreResult<()> {
        // The insert comes first, so the transaction holds the write lock from the start.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_key_row(&mut tx, new_key).await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2",
        )
        .bind(at.0)
        .bind(&new_key.kid)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_retired_keys(&self, before: Timestamp) -> StoreResult<u64> {
        sqlx::query("DELETE FROM signing_keys WHERE retired_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }
}
