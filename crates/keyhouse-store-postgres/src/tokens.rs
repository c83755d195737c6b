//! Issued access tokens, stored only by their SHA-256 hash ([`TokenStore`]).

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::store::{Invalidation, StoreResult, TokenStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::PgConnection;

use crate::error::map_err;
use crate::invalidations::notify;
use crate::rows::{token_columns, token_from_row};
use crate::PostgresStore;

/// Rows per INSERT statement (7 bound values each, far below the 65535 limit).
const INSERT_CHUNK: usize = 256;

/// Inserts access tokens inside the caller's transaction, one multi-row
/// statement per chunk.
pub(crate) async fn insert_token_rows(
    conn: &mut PgConnection,
    tokens: &[AccessTokenRecord],
) -> StoreResult<()> {
    for chunk in tokens.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
            "INSERT INTO access_tokens (",
            token_columns!(),
            ") "
        ));
        insert.push_values(chunk, |mut row, token| {
            row.push_bind(token.hash.0.to_vec())
                .push_bind(token.user_id.map(|u| u.0))
                .push_bind(token.client_id.clone())
                .push_bind(token.org_id.0)
                .push_bind(token.created_at.0)
                .push_bind(token.expires_at.0)
                .push_bind(token.scope.clone());
        });
        insert.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_tokens_audited(
        &self,
        tokens: &[AccessTokenRecord],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        // One transaction, one commit, one multi-row statement per chunk.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_token_rows(&mut tx, tokens).await?;
        crate::audit::insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessTokenRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE token_hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| token_from_row(&row))
        .transpose()
    }

    async fn delete_token_audited(
        &self,
        hash: &TokenHash,
        expires_at: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        // The notification is delivered on commit, together with the delete.
        // The expiry is checked as in the embedded store, which finds the row by it.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1 AND expires_at = $2")
            .bind(&hash.0[..])
            .bind(expires_at.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        crate::audit::insert_audit_rows(&mut tx, audit).await?;
        notify(&mut tx, &Invalidation::TokenRevoked(*hash)).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_tokens_of_app(&self, client_id: &str) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM access_tokens WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        notify(&mut tx, &Invalidation::AppChanged(client_id.to_owned())).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn list_live_tokens(&self, now: Timestamp) -> StoreResult<Vec<AccessTokenRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE expires_at > $1"
        ))
        .bind(now.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn purge_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
