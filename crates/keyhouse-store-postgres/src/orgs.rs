//! Organizations and business groups ([`OrganizationStore`]).

use async_trait::async_trait;
use keyhouse_core::access::{Environment, Membership, Organization, Role, User};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{OrganizationStore, StoreError, StoreResult};
use sqlx::PgExecutor;

use crate::audit::insert_audit_rows;
use crate::envs::insert_env_row;
use crate::error::{changed, is_foreign_key_violation, map_err, map_write_err, Writing};
use crate::rows::{org_columns, org_from_row, timeout_to_db};
use crate::users::{insert_membership_row, insert_user_row};
use crate::PostgresStore;

/// Inserts one `organizations` row (inside the caller's transaction).
async fn insert_org_row<'c>(ex: impl PgExecutor<'c>, org: &Organization) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO organizations (",
        org_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(org.id.0)
    .bind(&org.name)
    .bind(&org.client_id)
    .bind(org.parent_id.map(|p| p.0))
    .bind(org.root_id.0)
    .bind(org.owner_id.0)
    .bind(org.domain.as_deref())
    .bind(timeout_to_db(org)?)
    .bind(&org.entitlements)
    .bind(&org.properties)
    .bind(org.created_at.0)
    .bind(org.updated_at.0)
    .execute(ex)
    .await
    .map_err(|e| map_write_err(e, Writing::Org(org)))?;
    Ok(())
}

#[async_trait]
impl OrganizationStore for PostgresStore {
    async fn insert_root_organization(
        &self,
        org: &Organization,
        environments: &[Environment],
        owner: &User,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_org_row(&mut *tx, org).await?;
        insert_user_row(&mut *tx, owner).await?;
        let admin = Membership {
            user_id: owner.id,
            org_id: org.id,
            role: Role::Admin,
        };
        insert_membership_row(&mut *tx, &admin).await?;
        for env in environments {
            insert_env_row(&mut *tx, env).await?;
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
        insert_org_row(&mut *tx, org).await?;
        for env in environments {
            insert_env_row(&mut *tx, env).await?;
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_organization(&self, id: OrgId) -> StoreResult<Option<Organization>> {
        sqlx::query(concat!(
            "SELECT ",
            org_columns!(),
            " FROM organizations WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| org_from_row(&row))
        .transpose()
    }

    async fn list_tree(&self, root_id: OrgId) -> StoreResult<Vec<Organization>> {
        sqlx::query(concat!(
            "SELECT ",
            org_columns!(),
            " FROM organizations WHERE root_id = $1 ORDER BY created_at, id"
        ))
        .bind(root_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(org_from_row)
        .collect()
    }

    async fn list_root_organizations(&self) -> StoreResult<Vec<Organization>> {
        sqlx::query(concat!(
            "SELECT ",
            org_columns!(),
            " FROM organizations WHERE parent_id IS NULL ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(org_from_row)
        .collect()
    }

    async fn update_organization(
        &self,
        org: &Organization,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE organizations SET name = $2, owner_id = $3, session_timeout_minutes = $4, \
             entitlements = $5, properties = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(org.id.0)
        .bind(&org.name)
        .bind(org.owner_id.0)
        .bind(timeout_to_db(org)?)
        .bind(&org.entitlements)
        .bind(&org.properties)
        .bind(org.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_write_err(e, Writing::Org(org)))?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_organization(&self, id: OrgId, audit: &[AuditEvent]) -> StoreResult<()> {
        // Environments and memberships go with it by ON DELETE CASCADE; the
        // audit events are written in the same transaction.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::Conflict(
                        "The organization still has business groups or users; remove them first"
                            .to_owned(),
                    )
                } else {
                    map_err(e)
                }
            })?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
