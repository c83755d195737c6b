//! The audit log: events are appended next to the change they describe.

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AuditStore, Page, StoreResult};
use sqlx::{Row, SqliteConnection};

use crate::error::map_err;
use crate::rows::{self, AUDIT_COLUMNS};
use crate::SqliteStore;

/// Rows per INSERT statement (11 bound values each, far below SQLite's limit).
const INSERT_CHUNK: usize = 256;

/// Appends events inside the caller's transaction, in the given order.
pub(crate) async fn insert_audit_rows(
    conn: &mut SqliteConnection,
    events: &[AuditEvent],
) -> StoreResult<()> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) "
        ));
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(event.id.to_string())
                .push_bind(event.at.0)
                .push_bind(event.org_id.map(|o| o.to_string()))
                .push_bind(event.actor_user_id.map(|u| u.to_string()))
                .push_bind(event.actor_client_id.clone())
                .push_bind(event.action.clone())
                .push_bind(event.object_type.clone())
                .push_bind(event.object_id.clone())
                .push_bind(event.source.clone())
                .push_bind(event.success)
                .push_bind(event.detail.to_string());
        });
        insert.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AuditStore for SqliteStore {
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
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE org_id = $1 \
             ORDER BY at DESC, seq DESC LIMIT $2 OFFSET $3"
        );
        let data = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::audit_event)
            .collect::<StoreResult<Vec<_>>>()?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE org_id = $1")
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
}
