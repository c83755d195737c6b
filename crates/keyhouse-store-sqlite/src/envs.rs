//! Environments.

use async_trait::async_trait;
use keyhouse_core::access::Environment;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::{EnvId, OrgId};
use keyhouse_core::store::{EnvironmentStore, Page, StoreResult};
use sqlx::{Row, SqliteConnection};

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err};
use crate::{rows, SqliteStore};

const ENV_COLUMNS: &str = "id, org_id, name, env_type, client_id, created_at, updated_at";

pub(crate) async fn insert_environment_row(
    conn: &mut SqliteConnection,
    env: &Environment,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO environments (id, org_id, name, env_type, client_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(env.id.to_string())
    .bind(env.org_id.to_string())
    .bind(&env.name)
    .bind(env.env_type.as_str())
    .bind(&env.client_id)
    .bind(env.created_at.0)
    .bind(env.updated_at.0)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl EnvironmentStore for SqliteStore {
    async fn insert_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_environment_row(&mut tx, env).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_environment(&self, id: EnvId) -> StoreResult<Option<Environment>> {
        let sql = format!("SELECT {ENV_COLUMNS} FROM environments WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::environment)
            .transpose()
    }

    async fn list_environments(
        &self,
        org: OrgId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<Environment>> {
        let sql = format!(
            "SELECT {ENV_COLUMNS} FROM environments WHERE org_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        let data = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::environment)
            .collect::<StoreResult<Vec<_>>>()?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM environments WHERE org_id = $1")
            .bind(org.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get("n")
            .map_err(map_err)?;
        Ok(Page {
            data,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn update_environment(&self, env: &Environment, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("UPDATE environments SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(&env.name)
            .bind(env.updated_at.0)
            .bind(env.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_environment(&self, id: EnvId, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM environments WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
