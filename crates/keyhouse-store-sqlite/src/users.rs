//! Users and memberships.

use async_trait::async_trait;
use keyhouse_core::access::user::username_key;
use keyhouse_core::access::{Membership, Role, User};
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::{StoreError, StoreResult, UserStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::error::map_err;
use crate::{rows, SqliteStore};

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
    async fn insert_user(&self, user: &User, memberships: &[Membership]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_user_row(&mut tx, user).await?;
        for membership in memberships {
            insert_membership_row(&mut tx, membership).await?;
        }
        tx.commit().await.map_err(map_err)
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
