//! What apps acting for users leave behind: browser sessions, authorization
//! codes, consents, refresh tokens and used assertion ids ([`GrantStore`]).
//!
//! Single-use secrets are consumed with one conditional `UPDATE … RETURNING`,
//! so of concurrent callers exactly one wins. Every transaction starts with a
//! write, so it holds SQLite's write lock from its first statement (no
//! read-to-write upgrade that could fail with `SQLITE_BUSY`).

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::browser::BrowserSession;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::UserId;
use keyhouse_core::oauth::records::{
    AuthorizationCode, CodeRedemption, Consent, RefreshRotation, RefreshTokenRecord, UsedAssertion,
};
use keyhouse_core::store::{GrantStore, StoreResult};
use keyhouse_core::time_fmt::Timestamp;

use crate::audit::insert_audit_rows;
use crate::error::map_err;
use crate::grant_rows::{
    delete_app_user_grants, delete_family, delete_pair_grants, insert_code_row, insert_refresh_row,
    upsert_consent_row,
};
use crate::rows::{self, CODE_COLUMNS, CONSENT_COLUMNS, REFRESH_COLUMNS, SESSION_COLUMNS};
use crate::tokens::insert_token_rows;
use crate::SqliteStore;

#[async_trait]
impl GrantStore for SqliteStore {
    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO browser_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(session.hash.0.as_slice())
        .bind(session.user_id.to_string())
        .bind(session.auth_time.0)
        .bind(session.created_at.0)
        .bind(session.expires_at.0)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn find_browser_session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM browser_sessions WHERE session_hash = $1"
        ))
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(rows::browser_session)
        .transpose()
    }

    async fn delete_browser_session(&self, hash: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM browser_sessions WHERE session_hash = $1")
            .bind(hash.0.as_slice())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn insert_authorization_code(
        &self,
        code: &AuthorizationCode,
        consent: &Consent,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_code_row(&mut tx, code).await?;
        upsert_consent_row(&mut tx, consent).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn redeem_authorization_code(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<CodeRedemption> {
        let consumed = sqlx::query(&format!(
            "UPDATE authorization_codes SET consumed_at = $1 \
             WHERE code_hash = $2 AND consumed_at IS NULL RETURNING {CODE_COLUMNS}"
        ))
        .bind(now.0)
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = consumed {
            return rows::authorization_code(&row).map(CodeRedemption::Redeemed);
        }
        // consumed_at never goes back to NULL: a row found now was used before.
        let found = sqlx::query(&format!(
            "SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1"
        ))
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match found {
            Some(row) => rows::authorization_code(&row).map(CodeRedemption::AlreadyUsed),
            None => Ok(CodeRedemption::Unknown),
        }
    }

    async fn upsert_consent(&self, consent: &Consent, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        upsert_consent_row(&mut tx, consent).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_consent(&self, user: UserId, client_id: &str) -> StoreResult<Option<Consent>> {
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = $1 AND client_id = $2"
        ))
        .bind(user.to_string())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(rows::consent)
        .transpose()
    }

    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>> {
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE user_id = $1 \
             ORDER BY updated_at DESC, client_id"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(rows::consent)
        .collect()
    }

    async fn list_consents_of_app(&self, client_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE client_id = $1 \
             ORDER BY updated_at DESC, user_id"
        ))
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(rows::consent)
        .collect()
    }

    async fn revoke_consent(
        &self,
        user: UserId,
        client_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let user = user.to_string();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let existed = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(&user)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected()
            > 0;
        if !existed {
            // Nothing was granted: change nothing, record nothing.
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        delete_pair_grants(&mut tx, &user, client_id).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn revoke_consents_of_app(
        &self,
        client_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let consents = sqlx::query("DELETE FROM consents WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        delete_app_user_grants(&mut tx, client_id).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(consents)
    }

    async fn insert_user_tokens(
        &self,
        access: &AccessTokenRecord,
        refresh: Option<&RefreshTokenRecord>,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_token_rows(&mut tx, std::slice::from_ref(access)).await?;
        if let Some(refresh) = refresh {
            insert_refresh_row(&mut tx, refresh).await?;
        }
        if let (Some(user), Some(client_id)) = (access.user_id, access.client_id.as_deref()) {
            sqlx::query(
                "UPDATE consents SET last_used_at = $1 WHERE user_id = $2 AND client_id = $3",
            )
            .bind(access.created_at.0)
            .bind(user.to_string())
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn rotate_refresh_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<RefreshRotation> {
        let rotated = sqlx::query(&format!(
            "UPDATE refresh_tokens SET rotated_at = $1 \
             WHERE token_hash = $2 AND rotated_at IS NULL RETURNING {REFRESH_COLUMNS}"
        ))
        .bind(now.0)
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = rotated {
            return rows::refresh_token(&row).map(RefreshRotation::Rotated);
        }
        // rotated_at never goes back to NULL: a row found now was rotated before.
        match self.find_refresh_token(hash).await? {
            Some(token) => Ok(RefreshRotation::AlreadyRotated(token)),
            None => Ok(RefreshRotation::Unknown),
        }
    }

    async fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        sqlx::query(&format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(rows::refresh_token)
        .transpose()
    }

    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let deleted = delete_family(&mut tx, family_id).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn purge_expired_grants(&self, now: Timestamp) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut total = 0;
        for table in [
            "refresh_tokens",
            "authorization_codes",
            "browser_sessions",
            "used_assertions",
        ] {
            total += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(total)
    }

    async fn record_assertion(&self, used: &UsedAssertion) -> StoreResult<bool> {
        // The primary key decides: of concurrent inserts exactly one adds a row.
        let done = sqlx::query(
            "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(&used.client_id)
        .bind(&used.jti)
        .bind(used.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
