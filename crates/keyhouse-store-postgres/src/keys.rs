//! ID-token signing keys ([`KeyStore`]): persisted so every node and restart
//! signs with, and publishes, the same keys.

use async_trait::async_trait;
use keyhouse_core::oidc::keys::SigningKeyRecord;
use keyhouse_core::store::{KeyStore, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::PgExecutor;

use crate::error::map_err;
use crate::rows::{key_columns, key_from_row};
use crate::PostgresStore;

/// Inserts one `signing_keys` row.
async fn insert_key_row<'c>(ex: impl PgExecutor<'c>, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO signing_keys (",
        key_columns!(),
        ") VALUES ($1, $2, $3, $4, $5)"
    ))
    .bind(&key.kid)
    .bind(&key.algorithm)
    .bind(&key.private_pem)
    .bind(key.created_at.0)
    .bind(key.retired_at.map(|t| t.0))
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl KeyStore for PostgresStore {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        insert_key_row(&self.pool, key).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys ORDER BY created_at, kid"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(key_from_row)
        .collect()
    }

    async fn rotate_signing_key(
        &self,
        new_key: &SigningKeyRecord,
        at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_key_row(&mut *tx, new_key).await?;
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
        let done = sqlx::query("DELETE FROM signing_keys WHERE retired_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
