//! Users and memberships ([`UserStore`]).

use async_trait::async_trait;
use keyhouse_core::access::user::username_key;
use keyhouse_core::access::{Membership, User};
use keyhouse_core::ids::UserId;
use keyhouse_core::store::{StoreResult, UserStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::PgExecutor;

use crate::error::{changed, map_err, map_write_err, Writing};
use crate::rows::{membership_from_row, user_columns, user_from_row};
use crate::PostgresStore;

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
    async fn insert_user(&self, user: &User, memberships: &[Membership]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_user_row(&mut *tx, user).await?;
        for membership in memberships {
            insert_membership_row(&mut *tx, membership).await?;
        }
        tx.commit().await.map_err(map_err)
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
