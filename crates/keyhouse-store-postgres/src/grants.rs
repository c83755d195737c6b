//! What apps acting for users leave behind: browser sessions, authorization
//! codes, consents, refresh tokens and used assertion ids ([`GrantStore`]).
//!
//! Single-use secrets are consumed with one conditional `UPDATE … RETURNING`:
//! concurrent updaters queue on the row lock and re-check the condition, so
//! exactly one wins. Revocations that delete access tokens notify the other
//! nodes (`app:<client_id>`) in the same transaction.

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
use crate::rows::{
    code_columns, code_from_row, consent_columns, consent_from_row, refresh_columns,
    refresh_from_row, session_columns, session_from_row,
};
use crate::tokens::insert_token_rows;
use crate::PostgresStore;

#[async_trait]
impl GrantStore for PostgresStore {
    async fn insert_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO browser_sessions (",
            session_columns!(),
            ") VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&session.hash.0[..])
        .bind(session.user_id.0)
        .bind(session.auth_time.0)
        .bind(session.created_at.0)
        .bind(session.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_browser_session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM browser_sessions WHERE session_hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| session_from_row(&row))
        .transpose()
    }

    async fn delete_browser_session(&self, hash: &TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM browser_sessions WHERE session_hash = $1")
            .bind(&hash.0[..])
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
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
        let consumed = sqlx::query(concat!(
            "UPDATE authorization_codes SET consumed_at = $1 \
             WHERE code_hash = $2 AND consumed_at IS NULL RETURNING ",
            code_columns!()
        ))
        .bind(now.0)
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = consumed {
            return code_from_row(&row).map(CodeRedemption::Redeemed);
        }
        // consumed_at never goes back to NULL: a row found now was used before.
        let found = sqlx::query(concat!(
            "SELECT ",
            code_columns!(),
            " FROM authorization_codes WHERE code_hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match found {
            Some(row) => code_from_row(&row).map(CodeRedemption::AlreadyUsed),
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
        sqlx::query(concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE user_id = $1 AND client_id = $2"
        ))
        .bind(user.0)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| consent_from_row(&row))
        .transpose()
    }

    async fn list_consents_of_user(&self, user: UserId) -> StoreResult<Vec<Consent>> {
        sqlx::query(concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE user_id = $1 ORDER BY updated_at DESC, client_id"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(consent_from_row)
        .collect()
    }

    async fn list_consents_of_app(&self, client_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consents WHERE client_id = $1 ORDER BY updated_at DESC, user_id"
        ))
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(consent_from_row)
        .collect()
    }

    async fn revoke_consent(
        &self,
        user: UserId,
        client_id: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.0)
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            // Nothing was granted: change nothing, record nothing.
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        delete_pair_grants(&mut tx, user, client_id).await?;
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
        let done = sqlx::query("DELETE FROM consents WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        delete_app_user_grants(&mut tx, client_id).await?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected())
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
            .bind(user.0)
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
        let rotated = sqlx::query(concat!(
            "UPDATE refresh_tokens SET rotated_at = $1 \
             WHERE token_hash = $2 AND rotated_at IS NULL RETURNING ",
            refresh_columns!()
        ))
        .bind(now.0)
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some(row) = rotated {
            return refresh_from_row(&row).map(RefreshRotation::Rotated);
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
        sqlx::query(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_tokens WHERE token_hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| refresh_from_row(&row))
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
        for sql in [
            "DELETE FROM refresh_tokens WHERE expires_at <= $1",
            "DELETE FROM authorization_codes WHERE expires_at <= $1",
            "DELETE FROM browser_sessions WHERE expires_at <= $1",
            "DELETE FROM used_assertions WHERE expires_at <= $1",
        ] {
            total += sqlx::query(sql)
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
