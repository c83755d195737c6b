//! Decoding rows into domain types; anything that does not decode is corrupt data.

use keyhouse_core::access::{EnvType, Environment, Organization, User};
use keyhouse_core::authn::token::{AccessTokenRecord, TokenHash};
use keyhouse_core::ids::{EnvId, OrgId, UserId};
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
    let hash: Vec<u8> = get(row, "token_hash")?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("token_hash is not 32 bytes".to_owned()))?;
    Ok(AccessTokenRecord {
        hash: TokenHash(hash),
        user_id: UserId(uuid(row, "user_id")?),
        org_id: OrgId(uuid(row, "org_id")?),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}
