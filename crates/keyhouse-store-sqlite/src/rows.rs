//! Decoding rows into domain types; anything that does not decode is corrupt data.

use keyhouse_core::access::{
    Audience, ConnectedApp, EnvType, Environment, GrantType, Organization, ScopeGrant, SecretHash,
    User,
};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::browser::BrowserSession;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{EnvId, OrgId, UserId};
use keyhouse_core::oauth::records::{AuthorizationCode, Consent, RefreshTokenRecord};
use keyhouse_core::oidc::keys::SigningKeyRecord;
use keyhouse_core::store::{StoreError, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;

fn uuid(row: &SqliteRow, col: &str) -> StoreResult<Uuid> {
    let raw: String = row.try_get(col).map_err(map_err)?;
    Uuid::parse_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn get<'r, T>(row: &'r SqliteRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col).map_err(map_err)
}

fn opt_uuid(row: &SqliteRow, col: &str) -> StoreResult<Option<Uuid>> {
    let raw: Option<String> = get(row, col)?;
    raw.map(|r| Uuid::parse_str(&r))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn hash32(row: &SqliteRow, col: &str) -> StoreResult<[u8; 32]> {
    let raw: Vec<u8> = get(row, col)?;
    raw.try_into()
        .map_err(|_| StoreError::Corrupt(format!("{col} is not 32 bytes")))
}

fn strings(row: &SqliteRow, col: &str) -> StoreResult<Vec<String>> {
    let raw: String = get(row, col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn json(row: &SqliteRow, col: &str) -> StoreResult<serde_json::Value> {
    let raw: String = get(row, col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(crate) fn organization(row: &SqliteRow) -> StoreResult<Organization> {
    let parent: Option<String> = get(row, "parent_id")?;
    let parent_id = parent
        .map(|p| Uuid::parse_str(&p).map(OrgId))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("parent_id: {e}")))?;
    let timeout: i64 = get(row, "session_timeout_minutes")?;
    Ok(Organization {
        id: OrgId(uuid(row, "id")?),
        name: get(row, "name")?,
        client_id: get(row, "client_id")?,
        parent_id,
        root_id: OrgId(uuid(row, "root_id")?),
        owner_id: UserId(uuid(row, "owner_id")?),
        domain: get(row, "domain")?,
        session_timeout_minutes: u32::try_from(timeout)
            .map_err(|e| StoreError::Corrupt(format!("session_timeout_minutes: {e}")))?,
        entitlements: json(row, "entitlements")?,
        properties: json(row, "properties")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

pub(crate) fn environment(row: &SqliteRow) -> StoreResult<Environment> {
    let env_type: String = get(row, "env_type")?;
    Ok(Environment {
        id: EnvId(uuid(row, "id")?),
        org_id: OrgId(uuid(row, "org_id")?),
        name: get(row, "name")?,
        env_type: EnvType::parse(&env_type)
            .map_err(|e| StoreError::Corrupt(format!("env_type: {e}")))?,
        client_id: get(row, "client_id")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

pub(crate) fn user(row: &SqliteRow) -> StoreResult<User> {
    let last_login: Option<i64> = get(row, "last_login")?;
    Ok(User {
        id: UserId(uuid(row, "id")?),
        org_id: OrgId(uuid(row, "org_id")?),
        username: get(row, "username")?,
        first_name: get(row, "first_name")?,
        last_name: get(row, "last_name")?,
        email: get(row, "email")?,
        phone_number: get(row, "phone_number")?,
        password_hash: get(row, "password_hash")?,
        enabled: get(row, "enabled")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        last_login: last_login.map(Timestamp),
    })
}

pub(crate) fn token(row: &SqliteRow) -> StoreResult<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        hash: TokenHash(hash32(row, "token_hash")?),
        user_id: opt_uuid(row, "user_id")?.map(UserId),
        client_id: get(row, "client_id")?,
        org_id: OrgId(uuid(row, "org_id")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        scope: get(row, "scope")?,
    })
}

pub(crate) fn app(row: &SqliteRow) -> StoreResult<ConnectedApp> {
    let grant_types = strings(row, "grant_types")?
        .iter()
        .map(|g| {
            GrantType::parse(g)
                .ok_or_else(|| StoreError::Corrupt(format!("grant_types: unknown '{g}'")))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let audience: String = get(row, "audience")?;
    Ok(ConnectedApp {
        client_id: get(row, "client_id")?,
        secret_hash: SecretHash(hash32(row, "secret_hash")?),
        name: get(row, "name")?,
        org_id: OrgId(uuid(row, "org_id")?),
        owner_user_id: UserId(uuid(row, "owner_user_id")?),
        grant_types,
        redirect_uris: strings(row, "redirect_uris")?,
        public_keys: strings(row, "public_keys")?,
        scopes: strings(row, "scopes")?,
        audience: Audience::parse(&audience)
            .map_err(|e| StoreError::Corrupt(format!("audience: {e}")))?,
        client_uri: get(row, "client_uri")?,
        policy_uri: get(row, "policy_uri")?,
        enabled: get(row, "enabled")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        secret_updated_at: Timestamp(get(row, "secret_updated_at")?),
        public_client: get(row, "public_client")?,
    })
}

pub(crate) fn scope_grant(row: &SqliteRow) -> StoreResult<ScopeGrant> {
    Ok(ScopeGrant {
        scope: get(row, "scope")?,
        org: opt_uuid(row, "org_id")?.map(OrgId),
        env: opt_uuid(row, "env_id")?.map(EnvId),
    })
}

/// Columns of `browser_sessions`, as [`browser_session`] reads them.
pub(crate) const SESSION_COLUMNS: &str = "session_hash, user_id, auth_time, created_at, expires_at";

/// Columns of `authorization_codes` that [`authorization_code`] reads.
pub(crate) const CODE_COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scope, \
     code_challenge, nonce, auth_time, family_id, created_at, expires_at";

/// Columns of `consents`.
pub(crate) const CONSENT_COLUMNS: &str =
    "user_id, client_id, scope, created_at, updated_at, last_used_at";

/// Columns of `refresh_tokens`.
pub(crate) const REFRESH_COLUMNS: &str = "token_hash, family_id, client_id, user_id, scope, \
     auth_time, created_at, expires_at, rotated_at";

/// Columns of `signing_keys`.
pub(crate) const KEY_COLUMNS: &str = "kid, algorithm, private_pem, created_at, retired_at";

/// Columns of `audit_events` that [`audit_event`] reads (`seq` only orders them).
pub(crate) const AUDIT_COLUMNS: &str = "id, at, org_id, actor_user_id, actor_client_id, action, \
     object_type, object_id, source, success, detail";

/// Reads a nullable timestamp column.
fn opt_time(row: &SqliteRow, col: &str) -> StoreResult<Option<Timestamp>> {
    Ok(get::<Option<i64>>(row, col)?.map(Timestamp))
}

/// Decodes a `browser_sessions` row.
pub(crate) fn browser_session(row: &SqliteRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        hash: TokenHash(hash32(row, "session_hash")?),
        user_id: UserId(uuid(row, "user_id")?),
        auth_time: Timestamp(get(row, "auth_time")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}

/// Decodes an `authorization_codes` row.
pub(crate) fn authorization_code(row: &SqliteRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        hash: TokenHash(hash32(row, "code_hash")?),
        client_id: get(row, "client_id")?,
        user_id: UserId(uuid(row, "user_id")?),
        redirect_uri: get(row, "redirect_uri")?,
        scope: get(row, "scope")?,
        code_challenge: get(row, "code_challenge")?,
        nonce: get(row, "nonce")?,
        auth_time: Timestamp(get(row, "auth_time")?),
        family_id: get(row, "family_id")?,
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}

/// Decodes a `consents` row.
pub(crate) fn consent(row: &SqliteRow) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: UserId(uuid(row, "user_id")?),
        client_id: get(row, "client_id")?,
        scope: get(row, "scope")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        last_used_at: opt_time(row, "last_used_at")?,
    })
}

/// Decodes a `refresh_tokens` row.
pub(crate) fn refresh_token(row: &SqliteRow) -> StoreResult<RefreshTokenRecord> {
    Ok(RefreshTokenRecord {
        hash: TokenHash(hash32(row, "token_hash")?),
        family_id: get(row, "family_id")?,
        client_id: get(row, "client_id")?,
        user_id: UserId(uuid(row, "user_id")?),
        scope: get(row, "scope")?,
        auth_time: Timestamp(get(row, "auth_time")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        rotated_at: opt_time(row, "rotated_at")?,
    })
}

/// Decodes a `signing_keys` row.
pub(crate) fn signing_key(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        algorithm: get(row, "algorithm")?,
        private_pem: get(row, "private_pem")?,
        created_at: Timestamp(get(row, "created_at")?),
        retired_at: opt_time(row, "retired_at")?,
    })
}

/// Decodes an `audit_events` row.
pub(crate) fn audit_event(row: &SqliteRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: uuid(row, "id")?,
        at: Timestamp(get(row, "at")?),
        org_id: opt_uuid(row, "org_id")?.map(OrgId),
        actor_user_id: opt_uuid(row, "actor_user_id")?.map(UserId),
        actor_client_id: get(row, "actor_client_id")?,
        action: get(row, "action")?,
        object_type: get(row, "object_type")?,
        object_id: get(row, "object_id")?,
        source: get(row, "source")?,
        success: get(row, "success")?,
        detail: json(row, "detail")?,
    })
}
