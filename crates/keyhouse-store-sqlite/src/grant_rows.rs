//! Row-level writes shared by the grant operations, each run inside the
//! caller's transaction so a grant and its audit events commit together.

use std::collections::BTreeSet;

use keyhouse_core::oauth::records::{AuthorizationCode, Consent, RefreshTokenRecord};
use keyhouse_core::store::StoreResult;
use sqlx::{Row, SqliteConnection};

use crate::error::map_err;
use crate::rows::{CODE_COLUMNS, CONSENT_COLUMNS, REFRESH_COLUMNS};

/// Inserts an authorization code (not yet consumed).
pub(crate) async fn insert_code_row(
    conn: &mut SqliteConnection,
    code: &AuthorizationCode,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(code.hash.0.as_slice())
    .bind(&code.client_id)
    .bind(code.user_id.to_string())
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(&code.code_challenge)
    .bind(&code.nonce)
    .bind(code.auth_time.0)
    .bind(&code.family_id)
    .bind(code.created_at.0)
    .bind(code.expires_at.0)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// Creates a consent, or replaces the scope and `updated_at` of an existing
/// one (its `created_at` and `last_used_at` stay).
pub(crate) async fn upsert_consent_row(
    conn: &mut SqliteConnection,
    consent: &Consent,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO consents ({CONSENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id, client_id) \
         DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at"
    ))
    .bind(consent.user_id.to_string())
    .bind(&consent.client_id)
    .bind(&consent.scope)
    .bind(consent.created_at.0)
    .bind(consent.updated_at.0)
    .bind(consent.last_used_at.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// Inserts a refresh token.
pub(crate) async fn insert_refresh_row(
    conn: &mut SqliteConnection,
    token: &RefreshTokenRecord,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(token.hash.0.as_slice())
    .bind(&token.family_id)
    .bind(&token.client_id)
    .bind(token.user_id.to_string())
    .bind(&token.scope)
    .bind(token.auth_time.0)
    .bind(token.created_at.0)
    .bind(token.expires_at.0)
    .bind(token.rotated_at.map(|t| t.0))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// Deletes every access token, refresh token and unused code the app holds for the user.
pub(crate) async fn delete_pair_grants(
    conn: &mut SqliteConnection,
    user: &str,
    client_id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM access_tokens WHERE user_id = $1 AND client_id = $2")
        .bind(user)
        .bind(client_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1 AND client_id = $2")
        .bind(user)
        .bind(client_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "DELETE FROM authorization_codes \
         WHERE user_id = $1 AND client_id = $2 AND consumed_at IS NULL",
    )
    .bind(user)
    .bind(client_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Deletes every token and unused code that users hold for the app (the
/// app's own client-credentials tokens stay).
pub(crate) async fn delete_app_user_grants(
    conn: &mut SqliteConnection,
    client_id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM access_tokens WHERE client_id = $1 AND user_id IS NOT NULL")
        .bind(client_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query("DELETE FROM refresh_tokens WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query("DELETE FROM authorization_codes WHERE client_id = $1 AND consumed_at IS NULL")
        .bind(client_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Deletes a refresh family, then every access token of the (user, app)
/// pairs it belonged to. The pair is taken from the family's refresh tokens
/// and from the code that started it, so a replayed code whose grant issued
/// no refresh token still kills the access tokens. Returns refresh tokens deleted.
pub(crate) async fn delete_family(
    conn: &mut SqliteConnection,
    family_id: &str,
) -> StoreResult<u64> {
    // A write first, so the transaction holds the write lock from the start.
    let deleted =
        sqlx::query("DELETE FROM refresh_tokens WHERE family_id = $1 RETURNING user_id, client_id")
            .bind(family_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    let from_codes =
        sqlx::query("SELECT user_id, client_id FROM authorization_codes WHERE family_id = $1")
            .bind(family_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    let mut pairs = BTreeSet::new();
    for row in deleted.iter().chain(from_codes.iter()) {
        let user: String = row.try_get("user_id").map_err(map_err)?;
        let client: String = row.try_get("client_id").map_err(map_err)?;
        pairs.insert((user, client));
    }
    for (user, client) in &pairs {
        sqlx::query("DELETE FROM access_tokens WHERE user_id = $1 AND client_id = $2")
            .bind(user)
            .bind(client)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(u64::try_from(deleted.len()).unwrap_or(u64::MAX))
}
