//! Column lists and row decoding: the one place that knows how domain types are
//! laid out in PostgreSQL, so every query reads and writes them the same way.

use keyhouse_core::access::{
    Audience, ConnectedApp, EnvType, Environment, GrantType, Membership, Organization, Role,
    ScopeGrant, SecretHash, User,
};
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::authn::browser::BrowserSession;
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{EnvId, OrgId, UserId};
use keyhouse_core::oauth::records::{AuthorizationCode, Consent, RefreshTokenRecord};
use keyhouse_core::oidc::keys::SigningKeyRecord;
use keyhouse_core::store::{StoreError, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Decode, Postgres, Row, Type};

use crate::error::map_err;

/// Columns of `organizations`, in the order [`org_from_row`] expects by name.
macro_rules! org_columns {
    () => {
        "id, name, client_id, parent_id, root_id, owner_id, domain, \
         session_timeout_minutes, entitlements, properties, created_at, updated_at"
    };
}
pub(crate) use org_columns;

/// Columns of `environments`.
macro_rules! env_columns {
    () => {
        "id, org_id, name, env_type, client_id, created_at, updated_at"
    };
}
pub(crate) use env_columns;

/// Columns of `users`.
macro_rules! user_columns {
    () => {
        "id, org_id, username, first_name, last_name, email, phone_number, \
         password_hash, enabled, created_at, updated_at, last_login"
    };
}
pub(crate) use user_columns;

/// Columns of `access_tokens`.
macro_rules! token_columns {
    () => {
        "token_hash, user_id, client_id, org_id, created_at, expires_at, scope"
    };
}
pub(crate) use token_columns;

/// Columns of `browser_sessions`.
macro_rules! session_columns {
    () => {
        "session_hash, user_id, auth_time, created_at, expires_at"
    };
}
pub(crate) use session_columns;

/// Columns of `authorization_codes` that [`code_from_row`] reads (`consumed_at` is write-only).
macro_rules! code_columns {
    () => {
        "code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce, \
         auth_time, family_id, created_at, expires_at"
    };
}
pub(crate) use code_columns;

/// Columns of `consents`.
macro_rules! consent_columns {
    () => {
        "user_id, client_id, scope, created_at, updated_at, last_used_at"
    };
}
pub(crate) use consent_columns;

/// Columns of `refresh_tokens`.
macro_rules! refresh_columns {
    () => {
        "token_hash, family_id, client_id, user_id, scope, auth_time, created_at, \
         expires_at, rotated_at"
    };
}
pub(crate) use refresh_columns;

/// Columns of `signing_keys`.
macro_rules! key_columns {
    () => {
        "kid, algorithm, private_pem, created_at, retired_at"
    };
}
pub(crate) use key_columns;

/// Columns of `audit_events` that [`audit_from_row`] reads (`seq` only orders them).
macro_rules! audit_columns {
    () => {
        "id, at, org_id, actor_user_id, actor_client_id, action, object_type, object_id, \
         source, success, detail"
    };
}
pub(crate) use audit_columns;

/// Columns of `connected_apps` that [`app_from_row`] reads (`name_key` is write-only).
macro_rules! app_columns {
    () => {
        "client_id, secret_hash, name, org_id, owner_user_id, grant_types, redirect_uris, \
         public_keys, scopes, audience, client_uri, policy_uri, enabled, created_at, \
         updated_at, secret_updated_at, public_client"
    };
}
pub(crate) use app_columns;

/// Reads one column, mapping a decode failure to [`StoreError::Corrupt`].
fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(column).map_err(map_err)
}

/// Decodes an `organizations` row.
pub(crate) fn org_from_row(row: &PgRow) -> StoreResult<Organization> {
    let id = OrgId(get(row, "id")?);
    let timeout: i32 = get(row, "session_timeout_minutes")?;
    let session_timeout_minutes = u32::try_from(timeout).map_err(|_| {
        StoreError::Corrupt(format!(
            "organization {id} has a negative session timeout ({timeout})"
        ))
    })?;
    Ok(Organization {
        id,
        name: get(row, "name")?,
        client_id: get(row, "client_id")?,
        parent_id: get::<Option<uuid::Uuid>>(row, "parent_id")?.map(OrgId),
        root_id: OrgId(get(row, "root_id")?),
        owner_id: UserId(get(row, "owner_id")?),
        domain: get(row, "domain")?,
        session_timeout_minutes,
        entitlements: get(row, "entitlements")?,
        properties: get(row, "properties")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

/// Decodes an `environments` row.
pub(crate) fn env_from_row(row: &PgRow) -> StoreResult<Environment> {
    let id = EnvId(get(row, "id")?);
    let raw_type: String = get(row, "env_type")?;
    let env_type = EnvType::parse(&raw_type).map_err(|_| {
        StoreError::Corrupt(format!("environment {id} has unknown type '{raw_type}'"))
    })?;
    Ok(Environment {
        id,
        org_id: OrgId(get(row, "org_id")?),
        name: get(row, "name")?,
        env_type,
        client_id: get(row, "client_id")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

/// Decodes a `users` row.
pub(crate) fn user_from_row(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        username: get(row, "username")?,
        first_name: get(row, "first_name")?,
        last_name: get(row, "last_name")?,
        email: get(row, "email")?,
        phone_number: get(row, "phone_number")?,
        password_hash: get(row, "password_hash")?,
        enabled: get(row, "enabled")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        last_login: get::<Option<i64>>(row, "last_login")?.map(Timestamp),
    })
}

/// Decodes a `memberships` row.
pub(crate) fn membership_from_row(row: &PgRow) -> StoreResult<Membership> {
    let user_id = UserId(get(row, "user_id")?);
    let raw_role: String = get(row, "role")?;
    let role = Role::parse(&raw_role).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "membership of user {user_id} has unknown role '{raw_role}'"
        ))
    })?;
    Ok(Membership {
        user_id,
        org_id: OrgId(get(row, "org_id")?),
        role,
    })
}

/// Reads a 32-byte hash column.
fn hash32(row: &PgRow, column: &str) -> StoreResult<[u8; 32]> {
    let raw: Vec<u8> = get(row, column)?;
    raw.try_into().map_err(|bytes: Vec<u8>| {
        StoreError::Corrupt(format!("{column} is {} bytes, expected 32", bytes.len()))
    })
}

/// Decodes an `access_tokens` row.
pub(crate) fn token_from_row(row: &PgRow) -> StoreResult<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        hash: TokenHash(hash32(row, "token_hash")?),
        user_id: get::<Option<uuid::Uuid>>(row, "user_id")?.map(UserId),
        client_id: get(row, "client_id")?,
        org_id: OrgId(get(row, "org_id")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        scope: get(row, "scope")?,
    })
}

/// Decodes a `connected_apps` row; an unknown grant type or audience is corrupt data.
pub(crate) fn app_from_row(row: &PgRow) -> StoreResult<ConnectedApp> {
    let client_id: String = get(row, "client_id")?;
    let Json(raw_grants) = get::<Json<Vec<String>>>(row, "grant_types")?;
    let grant_types = raw_grants
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                StoreError::Corrupt(format!("app {client_id} has unknown grant type '{g}'"))
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let raw_audience: String = get(row, "audience")?;
    let audience = Audience::parse(&raw_audience).map_err(|_| {
        StoreError::Corrupt(format!(
            "app {client_id} has unknown audience '{raw_audience}'"
        ))
    })?;
    Ok(ConnectedApp {
        secret_hash: SecretHash(hash32(row, "secret_hash")?),
        name: get(row, "name")?,
        org_id: OrgId(get(row, "org_id")?),
        owner_user_id: UserId(get(row, "owner_user_id")?),
        grant_types,
        redirect_uris: get::<Json<Vec<String>>>(row, "redirect_uris")?.0,
        public_keys: get::<Json<Vec<String>>>(row, "public_keys")?.0,
        scopes: get::<Json<Vec<String>>>(row, "scopes")?.0,
        audience,
        client_uri: get(row, "client_uri")?,
        policy_uri: get(row, "policy_uri")?,
        enabled: get(row, "enabled")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        secret_updated_at: Timestamp(get(row, "secret_updated_at")?),
        public_client: get(row, "public_client")?,
        client_id,
    })
}

/// Decodes an `app_scopes` row.
pub(crate) fn scope_from_row(row: &PgRow) -> StoreResult<ScopeGrant> {
    Ok(ScopeGrant {
        scope: get(row, "scope")?,
        org: get::<Option<uuid::Uuid>>(row, "org_id")?.map(OrgId),
        env: get::<Option<uuid::Uuid>>(row, "env_id")?.map(EnvId),
    })
}

/// Reads a nullable timestamp column.
fn opt_time(row: &PgRow, column: &str) -> StoreResult<Option<Timestamp>> {
    Ok(get::<Option<i64>>(row, column)?.map(Timestamp))
}

/// Decodes a `browser_sessions` row.
pub(crate) fn session_from_row(row: &PgRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        hash: TokenHash(hash32(row, "session_hash")?),
        user_id: UserId(get(row, "user_id")?),
        auth_time: Timestamp(get(row, "auth_time")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}

/// Decodes an `authorization_codes` row.
pub(crate) fn code_from_row(row: &PgRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        hash: TokenHash(hash32(row, "code_hash")?),
        client_id: get(row, "client_id")?,
        user_id: UserId(get(row, "user_id")?),
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
pub(crate) fn consent_from_row(row: &PgRow) -> StoreResult<Consent> {
    Ok(Consent {
        user_id: UserId(get(row, "user_id")?),
        client_id: get(row, "client_id")?,
        scope: get(row, "scope")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        last_used_at: opt_time(row, "last_used_at")?,
    })
}

/// Decodes a `refresh_tokens` row.
pub(crate) fn refresh_from_row(row: &PgRow) -> StoreResult<RefreshTokenRecord> {
    Ok(RefreshTokenRecord {
        hash: TokenHash(hash32(row, "token_hash")?),
        family_id: get(row, "family_id")?,
        client_id: get(row, "client_id")?,
        user_id: UserId(get(row, "user_id")?),
        scope: get(row, "scope")?,
        auth_time: Timestamp(get(row, "auth_time")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        rotated_at: opt_time(row, "rotated_at")?,
    })
}

/// Decodes a `signing_keys` row.
pub(crate) fn key_from_row(row: &PgRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        algorithm: get(row, "algorithm")?,
        private_pem: get(row, "private_pem")?,
        created_at: Timestamp(get(row, "created_at")?),
        retired_at: opt_time(row, "retired_at")?,
    })
}

/// Decodes an `audit_events` row.
pub(crate) fn audit_from_row(row: &PgRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: get(row, "id")?,
        at: Timestamp(get(row, "at")?),
        org_id: get::<Option<uuid::Uuid>>(row, "org_id")?.map(OrgId),
        actor_user_id: get::<Option<uuid::Uuid>>(row, "actor_user_id")?.map(UserId),
        actor_client_id: get(row, "actor_client_id")?,
        action: get(row, "action")?,
        object_type: get(row, "object_type")?,
        object_id: get(row, "object_id")?,
        source: get(row, "source")?,
        success: get(row, "success")?,
        detail: get(row, "detail")?,
    })
}

/// The session timeout as stored (INTEGER); the core bounds it to 15–180 minutes.
pub(crate) fn timeout_to_db(org: &Organization) -> StoreResult<i32> {
    i32::try_from(org.session_timeout_minutes).map_err(|_| {
        StoreError::Corrupt(format!(
            "session timeout {} of organization {} does not fit the column",
            org.session_timeout_minutes, org.id
        ))
    })
}

/// Paging bounds as PostgreSQL wants them (BIGINT); absurdly large values saturate.
pub(crate) fn page_bound(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
