//! Identity-provider storage ([`IdentityProviderStore`]): providers, federated
//! identities, pending federated sign-ins and login domains.
//!
//! A pending sign-in is consumed with one `DELETE … RETURNING`, so of
//! concurrent callbacks exactly one gets it. Transactions start with a write
//! (they hold SQLite's write lock from their first statement).

use async_trait::async_trait;
use keyhouse_core::access::{Membership, Organization, User};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::token::TokenHash;
use keyhouse_core::federation::{
    FederationState, IdentityProvider, Protocol, ProviderId, ProviderSecret,
};
use keyhouse_core::ids::{truncate, OrgId, UserId};
use keyhouse_core::store::{OrganizationStore, StoreError, StoreResult};
use keyhouse_core::store_idp::IdentityProviderStore;
use keyhouse_core::time_fmt::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err};
use crate::users::{insert_membership_row, insert_user_row};
use crate::SqliteStore;

const PROVIDER_COLUMNS: &str = "id, org_id, kind, name, config, secret, created_at, updated_at";
const STATE_COLUMNS: &str = "state_hash, provider_id, binding_hash, nonce, pkce_verifier, \
     request, created_at, expires_at";

/// Maps an error raised while writing `provider`: a name clash names the provider.
fn provider_err(err: sqlx::Error, name: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.message().contains("identity_providers.") =>
        {
            StoreError::Conflict(format!(
                "An identity provider named '{}' already exists in this organization",
                truncate(name)
            ))
        }
        _ => map_err(err),
    }
}

/// Maps an error raised while provisioning: a linked subject says so.
fn provisioning_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.message().contains("federated_identities.") =>
        {
            StoreError::Conflict("This identity is already linked to a user".to_owned())
        }
        _ => map_err(err),
    }
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{col}: {e}"))
}

fn uuid(row: &SqliteRow, col: &str) -> StoreResult<Uuid> {
    let raw: String = row.try_get(col).map_err(map_err)?;
    Uuid::parse_str(&raw).map_err(|e| corrupt(col, e))
}

fn hash32(row: &SqliteRow, col: &str) -> StoreResult<TokenHash> {
    let raw: Vec<u8> = row.try_get(col).map_err(map_err)?;
    raw.try_into()
        .map(TokenHash)
        .map_err(|_| corrupt(col, "not 32 bytes"))
}

fn provider_row(row: &SqliteRow) -> StoreResult<IdentityProvider> {
    let kind: String = row.try_get("kind").map_err(map_err)?;
    let config: String = row.try_get("config").map_err(map_err)?;
    let config = serde_json::from_str(&config).map_err(|e| corrupt("config", e))?;
    let secret: Option<String> = row.try_get("secret").map_err(map_err)?;
    Ok(IdentityProvider {
        id: ProviderId(uuid(row, "id")?),
        org_id: OrgId(uuid(row, "org_id")?),
        name: row.try_get("name").map_err(map_err)?,
        protocol: Protocol::decode(&kind, config).map_err(StoreError::Corrupt)?,
        secret: secret.map(ProviderSecret::new),
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        updated_at: Timestamp(row.try_get("updated_at").map_err(map_err)?),
    })
}

fn state_row(row: &SqliteRow) -> StoreResult<FederationState> {
    Ok(FederationState {
        state_hash: hash32(row, "state_hash")?,
        provider_id: ProviderId(uuid(row, "provider_id")?),
        binding_hash: hash32(row, "binding_hash")?,
        nonce: row.try_get("nonce").map_err(map_err)?,
        pkce_verifier: row.try_get("pkce_verifier").map_err(map_err)?,
        request: row.try_get("request").map_err(map_err)?,
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(map_err)?),
    })
}

#[async_trait]
impl IdentityProviderStore for SqliteStore {
    async fn insert_identity_provider(
        &self,
        provider: &IdentityProvider,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(&format!(
            "INSERT INTO identity_providers ({PROVIDER_COLUMNS}, name_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(provider.id.to_string())
        .bind(provider.org_id.to_string())
        .bind(provider.protocol.kind())
        .bind(&provider.name)
        .bind(provider.protocol.config_json().to_string())
        .bind(provider.secret.as_ref().map(ProviderSecret::expose))
        .bind(provider.created_at.0)
        .bind(provider.updated_at.0)
        .bind(provider.name.to_lowercase())
        .execute(&mut *tx)
        .await
        .map_err(|e| provider_err(e, &provider.name))?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_identity_provider(
        &self,
        id: ProviderId,
    ) -> StoreResult<Option<IdentityProvider>> {
        sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(provider_row)
        .transpose()
    }

    async fn list_identity_providers(&self, org: OrgId) -> StoreResult<Vec<IdentityProvider>> {
        sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE org_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(provider_row)
        .collect()
    }

    async fn list_identity_providers_of_kind(
        &self,
        kind: &str,
    ) -> StoreResult<Vec<IdentityProvider>> {
        sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE kind = $1 \
             ORDER BY created_at, id"
        ))
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(provider_row)
        .collect()
    }

    async fn list_identity_providers_in_tree(
        &self,
        root: OrgId,
    ) -> StoreResult<Vec<IdentityProvider>> {
        sqlx::query(
            "SELECT p.id, p.org_id, p.kind, p.name, p.config, p.secret, p.created_at, p.updated_at \
             FROM identity_providers p JOIN organizations o ON o.id = p.org_id \
             WHERE o.root_id = $1 ORDER BY p.created_at, p.id",
        )
        .bind(root.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(provider_row)
        .collect()
    }

    async fn update_identity_provider(
        &self,
        provider: &IdentityProvider,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE identity_providers SET name = $1, name_key = $2, kind = $3, config = $4, \
             secret = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&provider.name)
        .bind(provider.name.to_lowercase())
        .bind(provider.protocol.kind())
        .bind(provider.protocol.config_json().to_string())
        .bind(provider.secret.as_ref().map(ProviderSecret::expose))
        .bind(provider.updated_at.0)
        .bind(provider.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| provider_err(e, &provider.name))?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_identity_provider(
        &self,
        id: ProviderId,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Links and pending sign-ins go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM identity_providers WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_federated_user(
        &self,
        provider: ProviderId,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        sqlx::query(
            "SELECT user_id FROM federated_identities WHERE provider_id = $1 AND subject = $2",
        )
        .bind(provider.to_string())
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| uuid(&row, "user_id").map(UserId))
        .transpose()
    }

    async fn insert_federated_user(
        &self,
        user: &User,
        membership: &Membership,
        provider: ProviderId,
        subject: &str,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_user_row(&mut tx, user).await?;
        insert_membership_row(&mut tx, membership).await?;
        sqlx::query(
            "INSERT INTO federated_identities (provider_id, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(provider.to_string())
        .bind(subject)
        .bind(user.id.to_string())
        .bind(user.created_at.0)
        .execute(&mut *tx)
        .await
        .map_err(provisioning_err)?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn update_federated_profile(&self, user: &User, audit: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE users SET first_name = $1, last_name = $2, email = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(user.updated_at.0)
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        changed(done.rows_affected())?;
        insert_audit_rows(&mut tx, audit).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn record_saml_assertion(
        &self,
        provider: ProviderId,
        assertion_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM saml_assertions WHERE expires_at < $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        // The primary key decides: of concurrent inserts exactly one adds a row.
        let done = sqlx::query(
            "INSERT INTO saml_assertions (provider_id, assertion_id, expires_at) \
             VALUES ($1, $2, $3) ON CONFLICT (provider_id, assertion_id) DO NOTHING",
        )
        .bind(provider.to_string())
        .bind(assertion_id)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_federation_state(&self, state: &FederationState) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO federation_states ({STATE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(state.state_hash.0.as_slice())
        .bind(state.provider_id.to_string())
        .bind(state.binding_hash.0.as_slice())
        .bind(&state.nonce)
        .bind(&state.pkce_verifier)
        .bind(&state.request)
        .bind(state.created_at.0)
        .bind(state.expires_at.0)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn consume_federation_state(
        &self,
        state_hash: &TokenHash,
    ) -> StoreResult<Option<FederationState>> {
        sqlx::query(&format!(
            "DELETE FROM federation_states WHERE state_hash = $1 RETURNING {STATE_COLUMNS}"
        ))
        .bind(state_hash.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(state_row)
        .transpose()
    }

    async fn purge_expired_federation_states(&self, now: Timestamp) -> StoreResult<u64> {
        sqlx::query("DELETE FROM federation_states WHERE expires_at < $1")
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(map_err)
    }

    async fn set_organization_domain(
        &self,
        org: OrgId,
        domain: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE organizations SET domain = $1, updated_at = $2 WHERE id = $3")
                .bind(domain)
                .bind(at.0)
                .bind(org.to_string())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        changed(done.rows_affected())
    }

    async fn find_organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let found = sqlx::query("SELECT id FROM organizations WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match found {
            Some(row) => self.find_organization(OrgId(uuid(&row, "id")?)).await,
            None => Ok(None),
        }
    }
}
