//! Access tokens, keyed by their SHA-256 hash.

use async_trait::async_trait;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::store::{StoreResult, TokenStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::SqliteConnection;

use crate::error::map_err;
use crate::{rows, SqliteStore};

/// Rows per INSERT statement (7 bound values each, far below SQLite's limit).
const INSERT_CHUNK: usize = 256;

/// Columns of `access_tokens`, as [`rows::token`] reads them.
pub(crate) const TOKEN_COLUMNS: &str =
    "token_hash, user_id, client_id, org_id, created_at, expires_at, scope";

/// Inserts access tokens inside the caller's transaction, one multi-row
/// statement per chunk: the per-row cost is binding seven values, not a
/// statement round trip.
pub(crate) async fn insert_token_rows(
    conn: &mut SqliteConnection,
    tokens: &[AccessTokenRecord],
) -> StoreResult<()> {
    for chunk in tokens.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO access_tokens \
             (token_hash, user_id, client_id, org_id, created_at, expires_at, scope) ",
        );
        insert.push_values(chunk, |mut row, token| {
            row.push_bind(token.hash.0.to_vec())
                .push_bind(token.user_id.map(|u| u.to_string()))
                .push_bind(token.client_id.clone())
                .push_bind(token.org_id.to_string())
                .push_bind(token.created_at.0)
                .push_bind(token.expires_at.0)
                .push_bind(token.scope.clone());
        });
        insert.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_tokens(&self, tokens: &[AccessTokenRecord]) -> StoreResult<()> {
        // One transaction: one fsync for the whole batch.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_token_rows(&mut tx, tokens).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessTokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1");
        sqlx::query(&sql)
            .bind(hash.0.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::token)
            .transpose()
    }

    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
            .bind(hash.0.as_slice())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn delete_tokens_of_app(&self, client_id: &str) -> StoreResult<u64> {
        sqlx::query("DELETE FROM access_tokens WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }

    async fn list_live_tokens(&self, now: Timestamp) -> StoreResult<Vec<AccessTokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE expires_at > $1");
        sqlx::query(&sql)
            .bind(now.0)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::token)
            .collect()
    }

    async fn purge_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }
}
