//! Multi-factor authentication storage ([`MfaStore`]): TOTP factors, recovery
//! codes, pending sign-ins and the organizations' MFA policy.
//!
//! A TOTP step, a recovery code and a pending sign-in are each consumed by one
//! conditional `UPDATE`/`DELETE`, so of concurrent callers exactly one wins.
//! Every transaction starts with a write (it holds SQLite's write lock from
//! its first statement, see grants.rs).

use async_trait::async_trait;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::browser::BrowserSession;
use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::ids::{OrgId, UserId};
use keyhouse_core::store::{StoreError, StoreResult};
use keyhouse_core::store_mfa::{MfaChallenge, MfaFactor, MfaProof, MfaPurpose, MfaStore};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::audit::insert_audit_rows;
use crate::error::map_err;
use crate::rows::SESSION_COLUMNS;
use crate::SqliteStore;

fn user_id(row: &SqliteRow) -> StoreResult<UserId> {
    let raw: String = row.try_get("user_id").map_err(map_err)?;
    uuid::Uuid::parse_str(&raw)
        .map(UserId)
        .map_err(|e| StoreError::Corrupt(format!("user_id: {e}")))
}

fn factor(row: &SqliteRow) -> StoreResult<MfaFactor> {
    Ok(MfaFactor {
        user_id: user_id(row)?,
        secret: row.try_get("secret").map_err(map_err)?,
        confirmed_at: row
            .try_get::<Option<i64>, _>("confirmed_at")
            .map_err(map_err)?
            .map(Timestamp),
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        last_step: row.try_get("last_step").map_err(map_err)?,
    })
}

fn challenge(row: &SqliteRow) -> StoreResult<MfaChallenge> {
    let hash: Vec<u8> = row.try_get("challenge_hash").map_err(map_err)?;
    let purpose: String = row.try_get("purpose").map_err(map_err)?;
    Ok(MfaChallenge {
        hash: TokenHash(
            hash.try_into()
                .map_err(|_| StoreError::Corrupt("challenge_hash is not 32 bytes".to_owned()))?,
        ),
        user_id: user_id(row)?,
        purpose: MfaPurpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown MFA purpose {purpose}")))?,
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(map_err)?),
    })
}

/// Consumes a proof inside the caller's transaction; false when refused.
async fn consume_proof(
    conn: &mut SqliteConnection,
    user: UserId,
    proof: &MfaProof,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = match proof {
        MfaProof::Totp { step } => sqlx::query(
            "UPDATE mfa_factors SET last_step = $1 \
             WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
        )
        .bind(step)
        .bind(user.to_string())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected(),
        MfaProof::RecoveryCode { hash } => sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL \
             AND EXISTS (SELECT 1 FROM mfa_factors f \
                         WHERE f.user_id = $2 AND f.confirmed_at IS NOT NULL)",
        )
        .bind(at.0)
        .bind(user.to_string())
        .bind(hash.as_slice())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected(),
        MfaProof::Enrolled => sqlx::query(
            "UPDATE mfa_factors SET last_step = last_step \
             WHERE user_id = $1 AND confirmed_at IS NOT NULL",
        )
        .bind(user.to_string())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?
        .rows_affected(),
    };
    Ok(done == 1)
}

#[async_trait]
impl MfaStore for SqliteStore {
    async fn find_mfa_factor(&self, user: UserId) -> StoreResult<Option<MfaFactor>> {
        sqlx::query(
            "SELECT user_id, secret, confirmed_at, created_at, last_step \
             FROM mfa_factors WHERE user_id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(factor)
        .transpose()
    }

    async fn start_mfa_factor(&self, new: &MfaFactor) -> StoreResult<()> {
        let written = sqlx::query(
            "INSERT INTO mfa_factors (user_id, secret, confirmed_at, created_at, last_step) \
             VALUES ($1, $2, NULL, $3, 0) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
             created_at = excluded.created_at, last_step = 0 \
             WHERE mfa_factors.confirmed_at IS NULL",
        )
        .bind(new.user_id.to_string())
        .bind(&new.secret)
        .bind(new.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "Multi-factor authentication is already set up for this user".to_owned(),
            ));
        }
        Ok(())
    }

    async fn confirm_mfa_factor(
        &self,
        user: UserId,
        secret: &str,
        step: i64,
        at: Timestamp,
        recovery_hashes: &[[u8; 32]],
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let confirmed = sqlx::query(
            "UPDATE mfa_factors SET confirmed_at = $1, last_step = $2 \
             WHERE user_id = $3 AND secret = $4 AND confirmed_at IS NULL AND last_step < $2",
        )
        .bind(at.0)
        .bind(step)
        .bind(user.to_string())
        .bind(secret)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if confirmed.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for hash in recovery_hashes {
            sqlx::query(
                "INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            )
            .bind(user.to_string())
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn count_recovery_codes(&self, user: UserId) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(count.max(0).unsigned_abs())
    }

    async fn delete_mfa_factor(
        &self,
        user: UserId,
        proof: Option<&MfaProof>,
        at: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        if let Some(proof) = proof {
            if !consume_proof(&mut tx, user, proof, at).await? {
                return Ok(false);
            }
        }
        let deleted = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn insert_mfa_challenge(&self, c: &MfaChallenge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mfa_challenges (challenge_hash, user_id, purpose, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c.hash.0.as_slice())
        .bind(c.user_id.to_string())
        .bind(c.purpose.as_str())
        .bind(c.created_at.0)
        .bind(c.expires_at.0)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn find_mfa_challenge(&self, hash: &TokenHash) -> StoreResult<Option<MfaChallenge>> {
        sqlx::query(
            "SELECT challenge_hash, user_id, purpose, created_at, expires_at \
             FROM mfa_challenges WHERE challenge_hash = $1",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(challenge)
        .transpose()
    }

    async fn complete_mfa_challenge(
        &self,
        hash: &TokenHash,
        user: UserId,
        proof: &MfaProof,
        at: Timestamp,
        session: &BrowserSession,
        audit: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let taken = sqlx::query(
            "DELETE FROM mfa_challenges \
             WHERE challenge_hash = $1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(hash.0.as_slice())
        .bind(user.to_string())
        .bind(at.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if taken.rows_affected() != 1 || !consume_proof(&mut tx, user, proof, at).await? {
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO browser_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(session.hash.0.as_slice())
        .bind(session.user_id.to_string())
        .bind(session.auth_time.0)
        .bind(session.created_at.0)
        .bind(session.expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn purge_expired_mfa_challenges(&self, now: Timestamp) -> StoreResult<u64> {
        sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }

    async fn find_mfa_required(&self, org: OrgId) -> StoreResult<bool> {
        let found: Option<bool> =
            sqlx::query_scalar("SELECT mfa_required FROM organizations WHERE id = $1")
                .bind(org.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(found.unwrap_or(false))
    }

    async fn set_mfa_required(
        &self,
        org: OrgId,
        required: bool,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = sqlx::query("UPDATE organizations SET mfa_required = $1 WHERE id = $2")
            .bind(required)
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }
}
