//! Identity-provider storage ([`IdentityProviderStore`]): providers, federated
//! identities, pending federated sign-ins and login domains.
//!
//! A pending sign-in is consumed with one `DELETE … RETURNING`, so of
//! concurrent callbacks (on any node) exactly one gets it.

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
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::audit::insert_audit_rows;
use crate::error::{changed, map_err, map_write_err, Writing};
use crate::users::{insert_membership_row, insert_user_row};
use crate::PostgresStore;

/// Columns of `identity_providers` that [`provider_row`] reads (`name_key` is write-only).
macro_rules! provider_columns {
    () => {
        "id, org_id, kind, name, config, secret, created_at, updated_at"
    };
}

/// Columns of `federation_states`.
macro_rules! state_columns {
    () => {
        "state_hash, provider_id, binding_hash, nonce, pkce_verifier, request, created_at, \
         expires_at"
    };
}

/// The unique constraint an error broke, if it is a unique violation.
fn unique_constraint(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}

/// Maps an error raised while writing a provider: a name clash names it.
fn provider_err(err: sqlx::Error, name: &str) -> StoreError {
    if unique_constraint(&err).as_deref() == Some("identity_providers_org_id_name_key_key") {
        return StoreError::Conflict(format!(
            "An identity provider named '{}' already exists in this organization",
            truncate(name)
        ));
    }
    map_err(err)
}

/// Maps an error raised while provisioning: a linked subject says so.
fn provisioning_err(err: sqlx::Error) -> StoreError {
    if unique_constraint(&err).as_deref() == Some("federated_identities_pkey") {
        return StoreError::Conflict("This identity is already linked to a user".to_owned());
    }
    map_err(err)
}

fn hash32(row: &PgRow, col: &str) -> StoreResult<TokenHash> {
    let raw: Vec<u8> = row.try_get(col).map_err(map_err)?;
    raw.try_into()
        .map(TokenHash)
        .map_err(|_| StoreError::Corrupt(format!("{col} is not 32 bytes")))
}

fn provider_row(row: &PgRow) -> StoreResult<IdentityProvider> {
    let kind: String = row.try_get("kind").map_err(map_err)?;
    let config: serde_json::Value = row.try_get("config").map_err(map_err)?;
    let secret: Option<String> = row.try_get("secret").map_err(map_err)?;
    Ok(IdentityProvider {
        id: ProviderId(row.try_get("id").map_err(map_err)?),
        org_id: OrgId(row.try_get("org_id").map_err(map_err)?),
        name: row.try_get("name").map_err(map_err)?,
        protocol: Protocol::decode(&kind, config).map_err(StoreError::Corrupt)?,
        secret: secret.map(ProviderSecret::new),
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        updated_at: Timestamp(row.try_get("updated_at").map_err(map_err)?),
    })
}

fn state_row(row: &PgRow) -> StoreResult<FederationState> {
    Ok(FederationState {
        state_hash: hash32(row, "state_hash")?,
        provider_id: ProviderId(row.try_get("provider_id").map_err(map_err)?),
        binding_hash: hash32(row, "binding_hash")?,
        nonce: row.try_get("nonce").map_err(map_err)?,
        pkce_verifier: row.try_get("pkce_verifier").map_err(map_err)?,
        request: row.try_get("request").map_err(map_err)?,
        created_at: Timestamp(row.try_get("created_at").map_err(map_err)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(map_err)?),
    })
}

#[async_trait]
impl IdentityProviderStore for PostgresStore {
    async fn insert_identity_provider(
        &self,
        provider: &IdentityProvider,
        audit: &[AuditEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(concat!(
            "INSERT INTO identity_providers (",
            provider_columns!(),
            ", name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(provider.id.0)
        .bind(provider.org_id.0)
        .bind(provider.protocol.kind())
        .bind(&provider.name)
        .bind(provider.protocol.config_json())
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
        sqlx::query(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(provider_row)
        .transpose()
    }

    async fn list_identity_providers(&self, org: OrgId) -> StoreResult<Vec<IdentityProvider>> {
        sqlx::query(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers WHERE org_id = $1 ORDER BY created_at, id"
        ))
        .bind(org.0)
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
        sqlx::query(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers WHERE kind = $1 ORDER BY created_at, id"
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
        .bind(root.0)
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
            "UPDATE identity_providers SET name = $2, name_key = $3, kind = $4, config = $5, \
             secret = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(provider.id.0)
        .bind(&provider.name)
        .bind(provider.name.to_lowercase())
        .bind(provider.protocol.kind())
        .bind(provider.protocol.config_json())
        .bind(provider.secret.as_ref().map(ProviderSecret::expose))
        .bind(provider.updated_at.0)
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
            .bind(id.0)
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
        .bind(provider.0)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(|row| row.try_get("user_id").map(UserId).map_err(map_err))
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
        insert_user_row(&mut *tx, user).await?;
        insert_membership_row(&mut *tx, membership).await?;
        sqlx::query(
            "INSERT INTO federated_identities (provider_id, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(provider.0)
        .bind(subject)
        .bind(user.id.0)
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
            "UPDATE users SET first_name = $2, last_name = $3, email = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(user.id.0)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(user.updated_at.0)
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
        .bind(provider.0)
        .bind(assertion_id)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_federation_state(&self, state: &FederationState) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO federation_states (",
            state_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(state.state_hash.0.as_slice())
        .bind(state.provider_id.0)
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
        sqlx::query(concat!(
            "DELETE FROM federation_states WHERE state_hash = $1 RETURNING ",
            state_columns!()
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
            sqlx::query("UPDATE organizations SET domain = $2, updated_at = $3 WHERE id = $1")
                .bind(org.0)
                .bind(domain)
                .bind(at.0)
                .execute(&self.pool)
                .await
                .map_err(|e| map_write_err(e, Writing::Nothing))?;
        changed(done.rows_affected())
    }

    async fn find_organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let found = sqlx::query("SELECT id FROM organizations WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match found {
            Some(row) => {
                let id = OrgId(row.try_get("id").map_err(map_err)?);
                self.find_organization(id).await
            }
            None => Ok(None),
        }
    }
}
