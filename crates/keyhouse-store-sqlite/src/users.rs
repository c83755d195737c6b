//! Users and memberships.

use async_trait::async_trait;
use keyhouse_core::access::user::username_key;
use keyhouse_core::access::{Membership, Role, User};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::{Page, StoreError, StoreResult, UserStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err};
use crate::{rows, SqliteStore};

/// The `GET …/users?search=` filter: a literal, case-insensitive substring of
/// the username key, names or email (`instr`, unlike `LIKE`, has no wildcards).
const USER_FILTER: &str = "org_id = $1 AND ($2 IS NULL OR instr(username_key, $2) > 0 \
     OR instr(lower(first_name), $2) > 0 OR instr(lower(last_name), $2) > 0 \
     OR instr(lower(email), $2) > 0)";

/// Deletes every access token of `user` and returns their hashes (for the
/// service's in-memory session table).
async fn delete_user_tokens(
    conn: &mut SqliteConnection,
    user: UserId,
) -> StoreResult<Vec<TokenHash>> {
    let hashes: Vec<Vec<u8>> =
        sqlx::query_scalar("DELETE FROM access_tokens WHERE user_id = $1 RETURNING token_hash")
            .bind(user.to_string())
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    hashes
        .into_iter()
        .map(|h| {
            <[u8; 32]>::try_from(h.as_slice())
                .map(TokenHash)
                .map_err(|_| StoreError::Corrupt("token_hash".to_owned()))
        })
        .collect()
}

/// Ends everything a disabled user could still use: access and refresh
/// tokens, browser sessions, unused codes and pending MFA sign-ins.
async fn end_user_sessions(
    conn: &mut SqliteConnection,
    user: UserId,
) -> StoreResult<Vec<TokenHash>> {
    let hashes = delete_user_tokens(conn, user).await?;
    for table in [
        "refresh_tokens",
        "browser_sessions",
        "authorization_codes",
        "mfa_challenges",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(user.to_string())
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(hashes)
}

const USER_COLUMNS: &str = "id, org_id, username, first_name, last_name, email, phone_number, \
     password_hash, enabled, created_at, updated_at, last_login";

pub(crate) async fn insert_user_row(conn: &mut SqliteConnection, user: &User) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, org_id, username, username_key, first_name, last_name, email, \
         phone_number, password_hash, enabled, created_at, updated_at, last_login) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(user.id.to_string())
    .bind(user.org_id.to_string())
    .bind(&user.username)
    .bind(username_key(&user.username))
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(&user.email)
    .bind(&user.phone_number)
    .bind(&user.password_hash)
    .bind(user.enabled)
    .bind(user.created_at.0)
    .bind(user.updated_at.0)
    .bind(user.last_login.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

pub(crate) async fn insert_membership_row(
    conn: &mut SqliteConnection,
    membership: &Membership,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role",
    )
    .bind(membership.user_id.to_string())
    .bind(membership.org_id.to_string())
    .bind(membership.role.as_str())
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user_audited(
        &self,
        user: &User,
        memberships: &[Membership],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_user_row(&mut tx, user).await?;
        for membership in memberships {
            insert_membership_row(&mut tx, membership).await?;
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn list_users(
        &self,
        root: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<User>> {
        let needle = search.map(str::to_lowercase);
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {USER_FILTER} \
             ORDER BY username_key LIMIT $3 OFFSET $4"
        );
        let data = sqlx::query(&sql)
            .bind(root.to_string())
            .bind(needle.as_deref())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .iter()
            .map(rows::user)
            .collect::<StoreResult<Vec<_>>>()?;
        let count = format!("SELECT COUNT(*) AS n FROM users WHERE {USER_FILTER}");
        let total: i64 = sqlx::query(&count)
            .bind(root.to_string())
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

    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<Vec<TokenHash>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, email = $3, phone_number = $4, \
             enabled = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(&user.phone_number)
        .bind(user.enabled)
        .bind(user.updated_at.0)
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        changed(done.rows_affected())?;
        let revoked = if user.enabled {
            Vec::new()
        } else {
            end_user_sessions(&mut tx, user.id).await?
        };
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(revoked)
    }

    async fn delete_user(&self, id: UserId, audit: &[AuditEvent]) -> StoreResult<Vec<TokenHash>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let revoked = delete_user_tokens(&mut tx, id).await?;
        // Memberships, sessions, codes, consents, refresh tokens, MFA and
        // federated links go with the row (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(revoked)
    }

    async fn find_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn find_user_by_username_key(&self, key: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = $1");
        sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn list_memberships(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        let found =
            sqlx::query("SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id")
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        found
            .iter()
            .map(|row| {
                let org: String = row.try_get("org_id").map_err(map_err)?;
                let role: String = row.try_get("role").map_err(map_err)?;
                Ok(Membership {
                    user_id: user,
                    org_id: OrgId(
                        Uuid::parse_str(&org)
                            .map_err(|e| StoreError::Corrupt(format!("org_id: {e}")))?,
                    ),
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role: {role}")))?,
                })
            })
            .collect()
    }

    async fn upsert_membership(&self, membership: &Membership) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_membership_row(&mut conn, membership).await
    }

    async fn record_login(&self, user: UserId, at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
            .bind(at.0)
            .bind(user.to_string())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }
}
