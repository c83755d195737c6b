//! Users and memberships ([`UserStore`]).

use async_trait::async_trait;
use keyhouse_core::access::user::username_key;
use keyhouse_core::access::{Membership, User};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::{Invalidation, Page, StoreError, StoreResult, UserStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::{PgConnection, PgExecutor};

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err, map_write_err, Writing};
use crate::invalidations::notify;
use crate::rows::{membership_from_row, page_bound, user_columns, user_from_row};
use crate::PostgresStore;

/// The `GET …/users?search=` filter: a literal, case-insensitive substring of
/// the username key, names or email (`strpos`, unlike `LIKE`, has no wildcards).
macro_rules! user_filter {
    () => {
        " WHERE org_id = $1 AND ($2::text IS NULL OR strpos(username_key, $2) > 0 \
          OR strpos(lower(first_name), $2) > 0 OR strpos(lower(last_name), $2) > 0 \
          OR strpos(lower(email), $2) > 0)"
    };
}

/// Above this many revoked tokens one `Everything` notification replaces
/// one per token (a NOTIFY payload each; other nodes reload from storage).
const NOTIFY_EACH_MAX: usize = 256;

/// Deletes every access token of `user` and tells every node to forget them,
/// on commit; returns their hashes for this node's memory.
async fn delete_user_tokens(conn: &mut PgConnection, user: UserId) -> StoreResult<Vec<TokenHash>> {
    let hashes: Vec<Vec<u8>> =
        sqlx::query_scalar("DELETE FROM access_tokens WHERE user_id = $1 RETURNING token_hash")
            .bind(user.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    let hashes = hashes
        .into_iter()
        .map(|h| {
            <[u8; 32]>::try_from(h.as_slice())
                .map(TokenHash)
                .map_err(|_| StoreError::Corrupt("token_hash".to_owned()))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    if hashes.len() > NOTIFY_EACH_MAX {
        notify(conn, &Invalidation::Everything).await?;
    } else {
        for hash in &hashes {
            notify(conn, &Invalidation::TokenRevoked(*hash)).await?;
        }
    }
    Ok(hashes)
}

/// Ends everything a disabled user could still use: access and refresh
/// tokens, browser sessions, unused codes and pending MFA sign-ins.
async fn end_user_sessions(conn: &mut PgConnection, user: UserId) -> StoreResult<Vec<TokenHash>> {
    let hashes = delete_user_tokens(conn, user).await?;
    for sql in [
        "DELETE FROM refresh_tokens WHERE user_id = $1",
        "DELETE FROM browser_sessions WHERE user_id = $1",
        "DELETE FROM authorization_codes WHERE user_id = $1",
        "DELETE FROM mfa_challenges WHERE user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(user.0)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(hashes)
}

/// Inserts one `users` row with its case-folded `username_key`, which carries
/// the uniqueness rule (usernames are unique regardless of case).
pub(crate) async fn insert_user_row<'c>(ex: impl PgExecutor<'c>, user: &User) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO users (",
        user_columns!(),
        ", username_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(user.id.0)
    .bind(user.org_id.0)
    .bind(&user.username)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(&user.email)
    .bind(user.phone_number.as_deref())
    .bind(user.password_hash.as_deref())
    .bind(user.enabled)
    .bind(user.created_at.0)
    .bind(user.updated_at.0)
    .bind(user.last_login.map(|t| t.0))
    .bind(username_key(&user.username))
    .execute(ex)
    .await
    .map_err(|e| map_write_err(e, Writing::User(user)))?;
    Ok(())
}

/// Inserts one `memberships` row (a duplicate is a conflict, unlike [`UserStore::upsert_membership`]).
pub(crate) async fn insert_membership_row<'c>(
    ex: impl PgExecutor<'c>,
    membership: &Membership,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3)")
        .bind(membership.user_id.0)
        .bind(membership.org_id.0)
        .bind(membership.role.as_str())
        .execute(ex)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user_audited(
        &self,
        user: &User,
        memberships: &[Membership],
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_user_row(&mut *tx, user).await?;
        for membership in memberships {
            insert_membership_row(&mut *tx, membership).await?;
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
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM users", user_filter!()))
            .bind(root.0)
            .bind(needle.as_deref())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let data = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users",
            user_filter!(),
            " ORDER BY username_key LIMIT $3 OFFSET $4"
        ))
        .bind(root.0)
        .bind(needle.as_deref())
        .bind(page_bound(limit))
        .bind(page_bound(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(user_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let total = u64::try_from(total)
            .map_err(|_| StoreError::Corrupt(format!("negative user count {total}")))?;
        Ok(Page { data, total })
    }

    async fn update_user(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<Vec<TokenHash>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE users SET first_name = $2, last_name = $3, email = $4, phone_number = $5, \
             enabled = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(user.id.0)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(user.phone_number.as_deref())
        .bind(user.enabled)
        .bind(user.updated_at.0)
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
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(revoked)
    }

    async fn find_user(&self, id: UserId) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| user_from_row(&row))
        .transpose()
    }

    async fn find_user_by_username_key(&self, key: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| user_from_row(&row))
        .transpose()
    }

    async fn list_memberships(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        sqlx::query(
            "SELECT user_id, org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(membership_from_row)
        .collect()
    }

    async fn upsert_membership(&self, membership: &Membership) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, org_id) DO UPDATE SET role = EXCLUDED.role",
        )
        .bind(membership.user_id.0)
        .bind(membership.org_id.0)
        .bind(membership.role.as_str())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn record_login(&self, user: UserId, at: Timestamp) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
            .bind(user.0)
            .bind(at.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())
    }
}
