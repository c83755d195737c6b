//! Organizations and business groups.

use async_trait::async_trait;
use keyhouse_core::access::{Environment, Membership, Organization, Role, User};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{OrganizationStore, StoreResult};
use sqlx::SqliteConnection;

use crate::audit::insert_audit_rows;
use crate::envs::insert_environment_row;
use crate::error::{changed, map_err};
use crate::users::{insert_membership_row, insert_user_row};
use crate::{rows, SqliteStore};

const ORG_COLUMNS: &str = "id, name, client_id, parent_id, root_id, owner_id, domain, \
     session_timeout_minutes, entitlements, properties, created_at, updated_at";

async fn insert_org_row(conn: &mut SqliteConnection, org: &Organization) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organizations (id, name, client_id, parent_id, root_id, owner_id, domain, \
         session_timeout_minutes, entitlements, properties, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(org.id.to_string())
    .bind(&org.name)
    .bind(&org.client_id)
    .bind(org.parent_id.map(|p| p.to_string()))
    .bind(org.root_id.to_string())
    .bind(org.owner_id.to_string())
    .bind(&org.domain)
    .bind(i64::from(org.session_timeout_minutes))
    .bind(org.entitlements.to_string())
    .bind(org.properties.to_string())
    .bind(org.created_at.0)
    .bind(org.updated_at.0)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn insert_root_organization(
        &self,
        org: &Organization,
        environments: &[Environment],
        owner: &User,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_org_row(&mut tx, org).await?;
        insert_user_row(&mut tx, owner).await?;
        let membership = Membership {
            user_id: owner.id,
            org_id: org.id,
            role: Role::Admin,
        };
        insert_membership_row(&mut tx, &membership).await?;
        for env in environments {
            insert_environment_row(&mut tx, env).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn insert_business_group_audited(
        &self,
        org: &Organization,
        environments: &[Environment],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_org_row(&mut tx, org).await?;
        for env in environments {
            insert_environment_row(&mut tx, env).await?;
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_organization(&self, id: OrgId) -> StoreResult<Option<Organization>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::organization)
            .transpose()
    }

    async fn list_tree(&self, root_id: OrgId) -> StoreResult<Vec<Organization>> {
        let sql = format!(
            "SELECT {ORG_COLUMNS} FROM organizations WHERE root_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(root_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::organization)
            .collect()
    }

    async fn list_root_organizations(&self) -> StoreResult<Vec<Organization>> {
        let sql = format!(
            "SELECT {ORG_COLUMNS} FROM organizations WHERE parent_id IS NULL ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::organization)
            .collect()
    }

    async fn update_organization(
        &self,
        org: &Organization,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE organizations SET name = $1, owner_id = $2, session_timeout_minutes = $3, \
             entitlements = $4, properties = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&org.name)
        .bind(org.owner_id.to_string())
        .bind(i64::from(org.session_timeout_minutes))
        .bind(org.entitlements.to_string())
        .bind(org.properties.to_string())
        .bind(org.updated_at.0)
        .bind(org.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_organization(&self, id: OrgId, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Environments and memberships go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
