//! Column lists and row decoding: the one place that knows how domain types are
//! laid out in PostgreSQL, so every query reads and writes them the same way.

use keyhouse_core::access::{EnvType, Environment, Membership, Organization, Role, User};
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{EnvId, OrgId, UserId};
use keyhouse_core::store::{StoreError, StoreResult};
use keyhouse_core::time_fmt::Timestamp;
use sqlx::postgres::PgRow;
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
        "token_hash, user_id, org_id, created_at, expires_at"
    };
}
pub(crate) use token_columns;

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

/// Decodes an `access_tokens` row.
pub(crate) fn token_from_row(row: &PgRow) -> StoreResult<AccessTokenRecord> {
    let raw_hash: Vec<u8> = get(row, "token_hash")?;
    let hash: [u8; 32] = raw_hash.try_into().map_err(|bytes: Vec<u8>| {
        StoreError::Corrupt(format!(
            "access token hash is {} bytes, expected 32",
            bytes.len()
        ))
    })?;
    Ok(AccessTokenRecord {
        hash: TokenHash(hash),
        user_id: UserId(get(row, "user_id")?),
        org_id: OrgId(get(row, "org_id")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
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
