//! Access tokens, keyed by their SHA-256 hash.

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::{StoreError, StoreResult, TokenStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::error::map_err;
use crate::{rows, SqliteStore};

/// Rows per INSERT statement (7 bound values each, far below SQLite's limit).
const INSERT_CHUNK: usize = 256;

/// Columns of `access_tokens`, as [`rows::token`] reads them.
pub(crate) const TOKEN_COLUMNS: &str =
    "token_hash, user_id, client_id, org_id, created_at, expires_at, scope";

/// Live tokens per query when loading them all at start (`for_each_live_token`).
const LIVE_PAGE: i64 = 4096;

/// One page of live tokens after rowid `$1`: the page's last rowid, and its
/// tokens rendered by SQLite as one JSON array of `[hash in hex, user_id,
/// client_id, org_id, created_at, expires_at, scope]`. Why: sqlx hands every
/// row from its SQLite thread to the task with an allocation per value and a
/// wake-up per row; a million rows one by one took 3 s and left 1.3 GB of
/// freed memory in the process (issue 4), where SQLite itself reads them in
/// 0.25 s. One row per page leaves JSON parsing, a fraction of that.
/// `+expires_at` keeps the planner on the rowid range, not the expiry index.
const LIVE_PAGE_SQL: &str = "SELECT max(r), json_group_array(json_array(hex(token_hash), \
     user_id, client_id, org_id, created_at, expires_at, scope)) FROM (SELECT rowid AS r, \
     token_hash, user_id, client_id, org_id, created_at, expires_at, scope FROM access_tokens \
     WHERE rowid > $1 AND +expires_at > $2 ORDER BY rowid LIMIT $3)";

/// A token as [`LIVE_PAGE_SQL`] renders it.
type LiveRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
);

async fn live_page(
    conn: &mut SqliteConnection,
    after: i64,
    now: Timestamp,
) -> StoreResult<(Option<i64>, String)> {
    sqlx::query_as(LIVE_PAGE_SQL)
        .bind(after)
        .bind(now.0)
        .bind(LIVE_PAGE)
        .fetch_one(conn)
        .await
        .map_err(map_err)
}

/// Decodes one page of [`LIVE_PAGE_SQL`].
fn live_tokens(page: &str) -> StoreResult<Vec<AccessTokenRecord>> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("access_tokens: {what}"));
    let uuid = |raw: &str| Uuid::parse_str(raw).map_err(|e| corrupt(&e.to_string()));
    let rows: Vec<LiveRow> = serde_json::from_str(page).map_err(|e| corrupt(&e.to_string()))?;
    rows.into_iter()
        .map(
            |(hash, user_id, client_id, org_id, created_at, expires_at, scope)| {
                Ok(AccessTokenRecord {
                    hash: TokenHash(unhex32(&hash).ok_or_else(|| corrupt("token_hash"))?),
                    user_id: user_id.as_deref().map(uuid).transpose()?.map(UserId),
                    client_id,
                    org_id: OrgId(uuid(&org_id)?),
                    created_at: Timestamp(created_at),
                    expires_at: Timestamp(expires_at),
                    scope,
                })
            },
        )
        .collect()
}

/// 64 hex digits (SQLite's `hex()`: upper case) as 32 bytes.
fn unhex32(text: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'A'..=b'F' => Some(c - b'A' + 10),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        let [high, low] = *pair else {
            return None;
        };
        *byte = (nibble(high)? << 4) | nibble(low)?;
    }
    Some(bytes)
}

/// Inserts access tokens inside the caller's transaction, one multi-row
/// statement per chunk: the per-row cost is binding seven values, not a
/// statement round trip.
pub(crate) async fn insert_token_rows(
    conn: &mut SqliteConnection,
    tokens: &[AccessTokenRecord],
) -> StoreResult<()> {
    for chunk in tokens.chunks(INSERT_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO access_tokens \
             (token_hash, user_id, client_id, org_id, created_at, expires_at, scope) ",
        );
        insert.push_values(chunk, |mut row, token| {
            row.push_bind(token.hash.0.to_vec())
                .push_bind(token.user_id.map(|u| u.to_string()))
                .push_bind(token.client_id.clone())
                .push_bind(token.org_id.to_string())
                .push_bind(token.created_at.0)
                .push_bind(token.expires_at.0)
                .push_bind(token.scope.clone());
        });
        insert.build().execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_tokens_audited(
        &self,
        tokens: &[AccessTokenRecord],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        // One transaction: one fsync for the whole batch.
        let mut tx = self.tokens.begin().await.map_err(map_err)?;
        insert_token_rows(&mut tx, tokens).await?;
        crate::audit::insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessTokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1");
        sqlx::query(&sql)
            .bind(hash.0.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::token)
            .transpose()
    }

    async fn delete_token_audited(
        &self,
        hash: &TokenHash,
        expires_at: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Through the expiry index: there is none on the hash (migration 0008).
        sqlx::query("DELETE FROM access_tokens WHERE expires_at = $1 AND token_hash = $2")
            .bind(expires_at.0)
            .bind(hash.0.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        crate::audit::insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_tokens_of_app(&self, client_id: &str) -> StoreResult<u64> {
        sqlx::query("DELETE FROM access_tokens WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }

    async fn list_live_tokens(&self, now: Timestamp) -> StoreResult<Vec<AccessTokenRecord>> {
        let mut tokens = Vec::new();
        self.for_each_live_token(now, &mut |token| tokens.push(token))
            .await?;
        Ok(tokens)
    }

    async fn for_each_live_token(
        &self,
        now: Timestamp,
        each: &mut (dyn FnMut(AccessTokenRecord) + Send),
    ) -> StoreResult<()> {
        // Pages (see LIVE_PAGE_SQL) in one read transaction: one snapshot.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let (mut last, mut page) = live_page(&mut tx, i64::MIN, now).await?;
        while let Some(after) = last {
            // SQLite renders the next page on sqlx's thread while this task
            // decodes the current one (`biased`: the query is sent first).
            let (next, decoded) = tokio::join!(biased; live_page(&mut tx, after, now), async {
                live_tokens(&page)
            });
            decoded?.into_iter().for_each(&mut *each);
            (last, page) = next?;
        }
        tx.rollback().await.map_err(map_err)?;
        Ok(())
    }

    async fn purge_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }
}
