//! Environments of organizations ([`EnvironmentStore`]).

use async_trait::async_trait;
use keyhouse_core::access::Environment;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::{EnvId, OrgId};
use keyhouse_core::store::{EnvironmentStore, Page, StoreError, StoreResult};
use sqlx::PgExecutor;

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err, map_write_err, Writing};
use crate::rows::{env_columns, env_from_row, page_bound};
use crate::PostgresStore;

/// Inserts one `environments` row; shared with organization creation so both
/// report a duplicate name the same way.
pub(crate) async fn insert_env_row<'c>(
    ex: impl PgExecutor<'c>,
    env: &Environment,
) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO environments (",
        env_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(env.id.0)
    .bind(env.org_id.0)
    .bind(&env.name)
    .bind(env.env_type.as_str())
    .bind(&env.client_id)
    .bind(env.created_at.0)
    .bind(env.updated_at.0)
    .execute(ex)
    .await
    .map_err(|e| map_write_err(e, Writing::Env(env)))?;
    Ok(())
}

#[async_trait]
impl EnvironmentStore for PostgresStore {
    async fn insert_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_env_row(&mut *tx, env).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_environment(&self, id: EnvId) -> StoreResult<Option<Environment>> {
        sqlx::query(concat!(
            "SELECT ",
            env_columns!(),
            " FROM environments WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| env_from_row(&row))
        .transpose()
    }

    async fn list_environments(
        &self,
        org: OrgId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<Environment>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM environments WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let data = sqlx::query(concat!(
            "SELECT ",
            env_columns!(),
            " FROM environments WHERE org_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ))
        .bind(org.0)
        .bind(page_bound(limit))
        .bind(page_bound(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(env_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let total = u64::try_from(total)
            .map_err(|_| StoreError::Corrupt(format!("negative environment count {total}")))?;
        Ok(Page { data, total })
    }

    async fn update_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("UPDATE environments SET name = $2, updated_at = $3 WHERE id = $1")
            .bind(env.id.0)
            .bind(&env.name)
            .bind(env.updated_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_write_err(e, Writing::Env(env)))?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_environment(&self, id: EnvId, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM environments WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
