//! Connected apps and their context-bound scopes.

use async_trait::async_trait;
use keyhouse_core::access::{ConnectedApp, ScopeGrant};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AppStore, Page, StoreError, StoreResult};
use sqlx::{Row, SqliteConnection};

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_app_err, map_err};
use crate::{rows, SqliteStore};

const APP_COLUMNS: &str = "client_id, secret_hash, name, org_id, owner_user_id, grant_types, \
     redirect_uris, public_keys, scopes, audience, client_uri, policy_uri, enabled, \
     created_at, updated_at, secret_updated_at, public_client";

/// The case-folded name that carries the per-organization uniqueness rule.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A list of strings as stored (a JSON array).
fn json_list<T: AsRef<str>>(items: &[T]) -> String {
    serde_json::Value::from(items.iter().map(AsRef::as_ref).collect::<Vec<&str>>()).to_string()
}

async fn insert_app_row(conn: &mut SqliteConnection, app: &ConnectedApp) -> StoreResult<()> {
    let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
    sqlx::query(
        "INSERT INTO connected_apps (client_id, secret_hash, name, name_key, org_id, \
         owner_user_id, grant_types, redirect_uris, public_keys, scopes, audience, client_uri, \
         policy_uri, enabled, created_at, updated_at, secret_updated_at, public_client) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&app.client_id)
    .bind(app.secret_hash.0.as_slice())
    .bind(&app.name)
    .bind(name_key(&app.name))
    .bind(app.org_id.to_string())
    .bind(app.owner_user_id.to_string())
    .bind(json_list(&grants))
    .bind(json_list(&app.redirect_uris))
    .bind(json_list(&app.public_keys))
    .bind(json_list(&app.scopes))
    .bind(app.audience.as_str())
    .bind(&app.client_uri)
    .bind(&app.policy_uri)
    .bind(app.enabled)
    .bind(app.created_at.0)
    .bind(app.updated_at.0)
    .bind(app.secret_updated_at.0)
    .bind(app.public_client)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(|e| map_app_err(e, &app.name))
}

/// Inserts the scopes of an app, numbering them in the given order.
async fn insert_scope_rows(
    conn: &mut SqliteConnection,
    client_id: &str,
    scopes: &[ScopeGrant],
) -> StoreResult<()> {
    for (position, grant) in scopes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO app_scopes (client_id, position, scope, org_id, env_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(client_id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&grant.scope)
        .bind(grant.org.map(|o| o.to_string()))
        .bind(grant.env.map(|e| e.to_string()))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AppStore for SqliteStore {
    async fn insert_app(
        &self,
        app: &ConnectedApp,
        scopes: &[ScopeGrant],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_app_row(&mut tx, app).await?;
        insert_scope_rows(&mut tx, &app.client_id, scopes).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_app(&self, client_id: &str) -> StoreResult<Option<ConnectedApp>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM connected_apps WHERE client_id = $1");
        sqlx::query(&sql)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::app)
            .transpose()
    }

    async fn list_apps(
        &self,
        org: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<ConnectedApp>> {
        // instr() on the case-folded name: a literal match, unlike LIKE.
        let needle = search.map(name_key);
        let filter = "org_id = $1 AND ($2 IS NULL OR instr(name_key, $2) > 0)";
        let sql = format!(
            "SELECT {APP_COLUMNS} FROM connected_apps WHERE {filter} \
             ORDER BY created_at, client_id LIMIT $3 OFFSET $4"
        );
        let data = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(needle.as_deref())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::app)
            .collect::<StoreResult<Vec<_>>>()?;
        let count = format!("SELECT COUNT(*) AS n FROM connected_apps WHERE {filter}");
        let total: i64 = sqlx::query(&count)
            .bind(org.to_string())
            .bind(needle.as_deref())
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

    async fn update_app(&self, app: &ConnectedApp, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
        let done = sqlx::query(
            "UPDATE connected_apps SET secret_hash = $1, name = $2, name_key = $3, \
             owner_user_id = $4, grant_types = $5, redirect_uris = $6, public_keys = $7, \
             scopes = $8, audience = $9, client_uri = $10, policy_uri = $11, enabled = $12, \
             updated_at = $13, secret_updated_at = $14, public_client = $16 WHERE client_id = $15",
        )
        .bind(app.secret_hash.0.as_slice())
        .bind(&app.name)
        .bind(name_key(&app.name))
        .bind(app.owner_user_id.to_string())
        .bind(json_list(&grants))
        .bind(json_list(&app.redirect_uris))
        .bind(json_list(&app.public_keys))
        .bind(json_list(&app.scopes))
        .bind(app.audience.as_str())
        .bind(&app.client_uri)
        .bind(&app.policy_uri)
        .bind(app.enabled)
        .bind(app.updated_at.0)
        .bind(app.secret_updated_at.0)
        .bind(&app.client_id)
        .bind(app.public_client)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_app_err(e, &app.name))?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_app(&self, client_id: &str, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Scopes and tokens go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM connected_apps WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_app_scopes(&self, client_id: &str) -> StoreResult<Vec<ScopeGrant>> {
        sqlx::query(
            "SELECT scope, org_id, env_id FROM app_scopes WHERE client_id = $1 ORDER BY position",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(rows::scope_grant)
        .collect()
    }

    async fn replace_app_scopes(
        &self,
        client_id: &str,
        scopes: &[ScopeGrant],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Write first, so the transaction holds the write lock from its first statement.
        sqlx::query("DELETE FROM app_scopes WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let exists = sqlx::query("SELECT 1 FROM connected_apps WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        insert_scope_rows(&mut tx, client_id, scopes).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
