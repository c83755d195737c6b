//! Connected apps and their context-bound scopes ([`AppStore`]).
//!
//! Every change to an existing app (fields, scopes, deletion) notifies the
//! other nodes in the same transaction, so none keeps trusting a stale copy.

use async_trait::async_trait;
use keyhouse_core::access::{ConnectedApp, ScopeGrant};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AppStore, Invalidation, Page, StoreError, StoreResult};
use sqlx::types::Json;
use sqlx::PgConnection;

use crate::audit::insert_audit_rows;
use crate::error::{map_err, map_write_err, Writing};
use crate::invalidations::notify;
use crate::rows::{app_columns, app_from_row, page_bound, scope_from_row};
use crate::PostgresStore;

/// The case-folded name that carries the per-organization uniqueness rule.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Grant types as stored: their wire names.
fn grant_names(app: &ConnectedApp) -> Vec<&'static str> {
    app.grant_types.iter().map(|g| g.as_str()).collect()
}

/// Inserts one `connected_apps` row (inside the caller's transaction).
async fn insert_app_row(conn: &mut PgConnection, app: &ConnectedApp) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO connected_apps (",
        app_columns!(),
        ", name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18)"
    ))
    .bind(&app.client_id)
    .bind(&app.secret_hash.0[..])
    .bind(&app.name)
    .bind(app.org_id.0)
    .bind(app.owner_user_id.0)
    .bind(Json(grant_names(app)))
    .bind(Json(&app.redirect_uris))
    .bind(Json(&app.public_keys))
    .bind(Json(&app.scopes))
    .bind(app.audience.as_str())
    .bind(app.client_uri.as_deref())
    .bind(app.policy_uri.as_deref())
    .bind(app.enabled)
    .bind(app.created_at.0)
    .bind(app.updated_at.0)
    .bind(app.secret_updated_at.0)
    .bind(app.public_client)
    .bind(name_key(&app.name))
    .execute(conn)
    .await
    .map_err(|e| map_write_err(e, Writing::App(app)))?;
    Ok(())
}

/// Inserts the scopes of an app in one statement, numbered in the given order.
async fn insert_scope_rows(
    conn: &mut PgConnection,
    client_id: &str,
    scopes: &[ScopeGrant],
) -> StoreResult<()> {
    if scopes.is_empty() {
        return Ok(());
    }
    let positions = (0..scopes.len())
        .map(|i| {
            i32::try_from(i)
                .map_err(|_| StoreError::Corrupt(format!("too many scopes for app {client_id}")))
        })
        .collect::<StoreResult<Vec<i32>>>()?;
    let names: Vec<&str> = scopes.iter().map(|s| s.scope.as_str()).collect();
    let orgs: Vec<Option<uuid::Uuid>> = scopes.iter().map(|s| s.org.map(|o| o.0)).collect();
    let envs: Vec<Option<uuid::Uuid>> = scopes.iter().map(|s| s.env.map(|e| e.0)).collect();
    sqlx::query(
        "INSERT INTO app_scopes (client_id, position, scope, org_id, env_id) \
         SELECT $1, t.position, t.scope, t.org_id, t.env_id \
         FROM UNNEST($2::integer[], $3::text[], $4::uuid[], $5::uuid[]) \
         AS t(position, scope, org_id, env_id)",
    )
    .bind(client_id)
    .bind(positions)
    .bind(names)
    .bind(orgs)
    .bind(envs)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl AppStore for PostgresStore {
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
        sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM connected_apps WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| app_from_row(&row))
        .transpose()
    }

    async fn list_apps(
        &self,
        org: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<ConnectedApp>> {
        // strpos() on the case-folded name: a literal match, unlike LIKE.
        let needle = search.map(name_key);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM connected_apps \
             WHERE org_id = $1 AND ($2::text IS NULL OR strpos(name_key, $2) > 0)",
        )
        .bind(org.0)
        .bind(needle.as_deref())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let data = sqlx::query(concat!(
            "SELECT ",
            app_columns!(),
            " FROM connected_apps \
             WHERE org_id = $1 AND ($2::text IS NULL OR strpos(name_key, $2) > 0) \
             ORDER BY created_at, client_id LIMIT $3 OFFSET $4"
        ))
        .bind(org.0)
        .bind(needle.as_deref())
        .bind(page_bound(limit))
        .bind(page_bound(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(app_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let total = u64::try_from(total)
            .map_err(|_| StoreError::Corrupt(format!("negative app count {total}")))?;
        Ok(Page { data, total })
    }

    async fn update_app(&self, app: &ConnectedApp, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE connected_apps SET secret_hash = $2, name = $3, name_key = $4, \
             owner_user_id = $5, grant_types = $6, redirect_uris = $7, public_keys = $8, \
             scopes = $9, audience = $10, client_uri = $11, policy_uri = $12, enabled = $13, \
             updated_at = $14, secret_updated_at = $15, public_client = $16 WHERE client_id = $1",
        )
        .bind(&app.client_id)
        .bind(&app.secret_hash.0[..])
        .bind(&app.name)
        .bind(name_key(&app.name))
        .bind(app.owner_user_id.0)
        .bind(Json(grant_names(app)))
        .bind(Json(&app.redirect_uris))
        .bind(Json(&app.public_keys))
        .bind(Json(&app.scopes))
        .bind(app.audience.as_str())
        .bind(app.client_uri.as_deref())
        .bind(app.policy_uri.as_deref())
        .bind(app.enabled)
        .bind(app.updated_at.0)
        .bind(app.secret_updated_at.0)
        .bind(app.public_client)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_write_err(e, Writing::App(app)))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        notify(&mut tx, &Invalidation::AppChanged(app.client_id.clone())).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_app(&self, client_id: &str, audit: &[AuditEvent]) -> StoreResult<()> {
        // Scopes and tokens go with it (ON DELETE CASCADE).
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM connected_apps WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        notify(&mut tx, &Invalidation::AppChanged(client_id.to_owned())).await?;
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
        .map(scope_from_row)
        .collect()
    }

    async fn replace_app_scopes(
        &self,
        client_id: &str,
        scopes: &[ScopeGrant],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Locking the app row serialises concurrent replacements of its scopes.
        let exists = sqlx::query("SELECT 1 FROM connected_apps WHERE client_id = $1 FOR UPDATE")
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM app_scopes WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_scope_rows(&mut tx, client_id, scopes).await?;
        notify(&mut tx, &Invalidation::AppChanged(client_id.to_owned())).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
