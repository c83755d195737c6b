//! The audit log ([`AuditStore`]): events are appended in the same
//! transaction as the change they describe, queried with bound parameters
//! only, and trimmed by retention.

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::audit_query::{AuditFilter, AuditPosition, AuditQuery, AuditRecord};
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AuditStore, Page, StoreError, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

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

    async fn query_audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let mut sql = QueryBuilder::<Postgres>::new(concat!(
            "SELECT seq, ",
            audit_columns!(),
            " FROM audit_events"
        ));
        push_filter(&mut sql, &query.filter);
        if let Some(after) = query.after {
            push_after(&mut sql, after, query.ascending);
        }
        let order = if query.ascending { "ASC" } else { "DESC" };
        sql.push(format!(" ORDER BY at {order}, seq {order} LIMIT "))
            .push_bind(page_bound(query.limit))
            .push(" OFFSET ")
            .push_bind(page_bound(query.offset));
        sql.build()
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    position: AuditPosition {
                        at: Timestamp(row.try_get("at").map_err(map_err)?),
                        seq: row.try_get("seq").map_err(map_err)?,
                    },
                    event: audit_from_row(row)?,
                })
            })
            .collect()
    }

    async fn count_audit_events(&self, filter: &AuditFilter) -> StoreResult<u64> {
        let mut sql = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM audit_events");
        push_filter(&mut sql, filter);
        let n: i64 = sql
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative audit event count {n}")))
    }

    async fn purge_audit_events(&self, before: Timestamp, max_rows: u64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE seq IN \
             (SELECT seq FROM audit_events WHERE at < $1 LIMIT $2)",
        )
        .bind(before.0)
        .bind(page_bound(max_rows))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

/// ` WHERE …` for `filter`: the organization always, then each non-empty list
/// as one bound array (`= ANY($n)`).
fn push_filter(sql: &mut QueryBuilder<'_, Postgres>, filter: &AuditFilter) {
    sql.push(" WHERE org_id = ").push_bind(filter.org.0);
    if let Some(from) = filter.from {
        sql.push(" AND at >= ").push_bind(from.0);
    }
    if let Some(until) = filter.until {
        sql.push(" AND at <= ").push_bind(until.0);
    }
    for (column, values) in [
        ("object_type", &filter.object_types),
        ("action", &filter.actions),
        ("object_id", &filter.object_ids),
    ] {
        if !values.is_empty() {
            sql.push(format!(" AND {column} = ANY("))
                .push_bind(values.clone())
                .push(")");
        }
    }
    if !filter.user_ids.is_empty() {
        let ids: Vec<uuid::Uuid> = filter.user_ids.iter().map(|u| u.0).collect();
        sql.push(" AND actor_user_id = ANY(")
            .push_bind(ids)
            .push(")");
    }
}

/// Keeps only rows strictly past `after` in the chosen order (keyset paging);
/// the plain `at` bound lets the `(org_id, at, seq)` index narrow the scan.
fn push_after(sql: &mut QueryBuilder<'_, Postgres>, after: AuditPosition, ascending: bool) {
    let (cmp_eq, cmp) = if ascending { (">=", ">") } else { ("<=", "<") };
    sql.push(format!(" AND at {cmp_eq} "))
        .push_bind(after.at.0)
        .push(format!(" AND (at {cmp} "))
        .push_bind(after.at.0)
        .push(format!(" OR seq {cmp} "))
        .push_bind(after.seq)
        .push(")");
}
