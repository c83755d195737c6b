//! The audit log: events are appended next to the change they describe,
//! queried with bound parameters only, and trimmed by retention.

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::audit_query::{AuditFilter, AuditPosition, AuditQuery, AuditRecord};
use keyhouse_core::ids::OrgId;
use keyhouse_core::store::{AuditStore, Page, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

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

    async fn query_audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let mut sql =
            QueryBuilder::<Sqlite>::new(format!("SELECT seq, {AUDIT_COLUMNS} FROM audit_events"));
        push_filter(&mut sql, &query.filter);
        if let Some(after) = query.after {
            push_after(&mut sql, after, query.ascending);
        }
        let order = if query.ascending { "ASC" } else { "DESC" };
        sql.push(format!(" ORDER BY at {order}, seq {order} LIMIT "))
            .push_bind(bound(query.limit))
            .push(" OFFSET ")
            .push_bind(bound(query.offset));
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
                    event: rows::audit_event(row)?,
                })
            })
            .collect()
    }

    async fn count_audit_events(&self, filter: &AuditFilter) -> StoreResult<u64> {
        let mut sql = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) AS n FROM audit_events");
        push_filter(&mut sql, filter);
        let n: i64 = sql
            .build()
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?
            .try_get("n")
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn purge_audit_events(&self, before: Timestamp, max_rows: u64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE seq IN \
             (SELECT seq FROM audit_events WHERE at < $1 LIMIT $2)",
        )
        .bind(before.0)
        .bind(bound(max_rows))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

/// A count or bound as SQLite wants it (INTEGER); absurdly large values saturate.
fn bound(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// ` WHERE …` for `filter`: the organization always, then each non-empty list.
fn push_filter(sql: &mut QueryBuilder<'_, Sqlite>, filter: &AuditFilter) {
    sql.push(" WHERE org_id = ")
        .push_bind(filter.org.to_string());
    if let Some(from) = filter.from {
        sql.push(" AND at >= ").push_bind(from.0);
    }
    if let Some(until) = filter.until {
        sql.push(" AND at <= ").push_bind(until.0);
    }
    let user_ids: Vec<String> = filter.user_ids.iter().map(ToString::to_string).collect();
    for (column, values) in [
        ("object_type", &filter.object_types),
        ("action", &filter.actions),
        ("object_id", &filter.object_ids),
        ("actor_user_id", &user_ids),
    ] {
        if values.is_empty() {
            continue;
        }
        sql.push(format!(" AND {column} IN ("));
        let mut list = sql.separated(", ");
        for value in values {
            list.push_bind(value.clone());
        }
        list.push_unseparated(")");
    }
}

/// Keeps only rows strictly past `after` in the chosen order (keyset paging);
/// the plain `at` bound lets the `(org_id, at, seq)` index narrow the scan.
fn push_after(sql: &mut QueryBuilder<'_, Sqlite>, after: AuditPosition, ascending: bool) {
    let (cmp_eq, cmp) = if ascending { (">=", ">") } else { ("<=", "<") };
    sql.push(format!(" AND at {cmp_eq} "))
        .push_bind(after.at.0)
        .push(format!(" AND (at {cmp} "))
        .push_bind(after.at.0)
        .push(format!(" OR seq {cmp} "))
        .push_bind(after.seq)
        .push(")");
}
