//! The audit log ([`AuditStore`]): events are appended in the same
//! transaction as the change they describe.

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AuditStore, Page, StoreError, StoreResult};
use sqlx::PgConnection;

use crate::error::map_err;
use crate::rows::{audit_columns, audit_from_row, page_bound};
use crate::PostgresStore;

/// Rows per INSERT statement (11 bound values each, far below the 65535 limit).
const INSERT_CHUNK: usize = 256;

/// Appends events inside the caller's transaction, in the given order.
pub(crate) async fn insert_audit_rows(
    conn: &mut PgConnection,
    events: &[AuditEvent],
) -> StoreResult<()> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!(
            "INSERT INTO audit_events (",
            audit_columns!(),
            ") "
        ));
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(event.id)
                .push_bind(event.at.0)
                .push_bind(event.org_id.map(|o| o.0))
                .push_bind(event.actor_user_id.map(|u| u.0))
                .push_bind(event.actor_client_id.clone())
                .push_bind(event.action.clone())
                .push_bind(event.object_type.clone())
                .push_bind(event.object_id.clone())
                .push_bind(event.source.clone())
                .push_bind(event.success)
                .push_bind(event.detail.clone());
        });
        insert.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_audit_rows(&mut tx, events).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_audit_events(
        &self,
        org: OrgId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<AuditEvent>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let data = sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events WHERE org_id = $1 ORDER BY at DESC, seq DESC LIMIT $2 OFFSET $3"
        ))
        .bind(org.0)
        .bind(page_bound(limit))
        .bind(page_bound(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(audit_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let total = u64::try_from(total)
            .map_err(|_| StoreError::Corrupt(format!("negative audit event count {total}")))?;
        Ok(Page { data, total })
    }
}
