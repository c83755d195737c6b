//! One place that turns sqlx errors into [`StoreError`]s, so every query maps
//! failures the same way: unique violations become conflicts that name what
//! collided, transient faults become `Unavailable`, the rest `Corrupt`.

use keyhouse_core::access::{ConnectedApp, Environment, Organization, User};
use keyhouse_core::ids::truncate;
use keyhouse_core::store::StoreError;
use sqlx::error::ErrorKind;

/// What a statement was writing, so a conflict message can name the value that collided.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Writing<'a> {
    /// Nothing in particular (reads, deletes): conflict messages stay generic.
    Nothing,
    /// An organization or business group row.
    Org(&'a Organization),
    /// An environment row.
    Env(&'a Environment),
    /// A user row.
    User(&'a User),
    /// A connected app row.
    App(&'a ConnectedApp),
}

/// Maps any sqlx error when no particular row is being written.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    map_write_err(e, Writing::Nothing)
}

/// Maps a sqlx error raised while writing `what`.
pub(crate) fn map_write_err(e: sqlx::Error, what: Writing<'_>) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict(conflict_message(db.constraint().unwrap_or(""), what))
                }
                // The row a new one refers to is gone (e.g. a user deleted meanwhile).
                ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                _ if is_transient(&code) => {
                    tracing::warn!(%code, error = %db, "postgres reported a transient error");
                    StoreError::Unavailable(format!("database unavailable ({code})"))
                }
                _ => StoreError::Corrupt(format!("database error {code}: {db}")),
            }
        }
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".to_owned())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("database pool is closed".to_owned()),
        sqlx::Error::Io(err) => StoreError::Unavailable(format!("database connection: {err}")),
        sqlx::Error::Tls(err) => StoreError::Unavailable(format!("database TLS: {err}")),
        sqlx::Error::Protocol(msg) => StoreError::Unavailable(format!("database protocol: {msg}")),
        sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable("database connection worker crashed".to_owned())
        }
        sqlx::Error::BeginFailed => {
            StoreError::Unavailable("could not begin a database transaction".to_owned())
        }
        sqlx::Error::Configuration(err) => {
            StoreError::Unavailable(format!("database configuration: {err}"))
        }
        sqlx::Error::RowNotFound => StoreError::NotFound,
        other => StoreError::Corrupt(format!("database: {other}")),
    }
}

/// True when a foreign-key check failed: lets callers for whom a remaining
/// reference means "still in use" (deleting an organization) say so instead of "not found".
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

/// SQLSTATE classes worth retrying later: connection (08), transaction rollback
/// such as serialization failure or deadlock (40), insufficient resources (53),
/// operator intervention incl. shutdown and cancel (57), system I/O (58),
/// lock not available (55P03) and a read-only standby after failover (25006).
fn is_transient(code: &str) -> bool {
    // 08 connection, 28 authorization (credentials changed), 3D database gone,
    // 40 rollback, 53 resources, 57 operator intervention, 58 system error.
    ["08", "28", "3D", "40", "53", "57", "58"]
        .iter()
        .any(|class| code.starts_with(class))
        || code == "55P03"
        || code == "25006"
}

/// A message for the user that names the uniqueness rule, picked by constraint name.
fn conflict_message(constraint: &str, what: Writing<'_>) -> String {
    match (constraint, what) {
        ("environments_org_id_name_key", Writing::Env(env)) => format!(
            "An environment named '{}' already exists in this organization",
            truncate(&env.name)
        ),
        ("environments_org_id_name_key", _) => {
            "An environment with this name already exists in this organization".to_owned()
        }
        ("environments_client_id_key", _) => {
            "An environment with this client id already exists".to_owned()
        }
        ("environments_pkey", _) => "An environment with this id already exists".to_owned(),
        ("users_username_key_key", Writing::User(user)) => {
            format!("Username '{}' is already taken", truncate(&user.username))
        }
        ("users_username_key_key", _) => "This username is already taken".to_owned(),
        ("users_pkey", _) => "A user with this id already exists".to_owned(),
        ("organizations_domain_key", Writing::Org(org)) => format!(
            "The domain '{}' is already used by another organization",
            truncate(org.domain.as_deref().unwrap_or(""))
        ),
        ("organizations_domain_key", _) => {
            "This domain is already used by another organization".to_owned()
        }
        ("organizations_client_id_key", _) => {
            "An organization with this client id already exists".to_owned()
        }
        ("organizations_pkey", _) => "An organization with this id already exists".to_owned(),
        ("memberships_pkey", _) => {
            "The user already has a membership in this organization".to_owned()
        }
        ("access_tokens_pkey", _) => "This access token already exists".to_owned(),
        ("refresh_tokens_pkey", _) => "This refresh token already exists".to_owned(),
        ("authorization_codes_pkey", _) => "This authorization code already exists".to_owned(),
        ("browser_sessions_pkey", _) => "This browser session already exists".to_owned(),
        ("signing_keys_pkey", _) => "A signing key with this id already exists".to_owned(),
        ("audit_events_id_key", _) => "An audit event with this id already exists".to_owned(),
        ("connected_apps_org_id_name_key_key", Writing::App(app)) => format!(
            "A connected app named '{}' already exists in this organization",
            truncate(&app.name)
        ),
        ("connected_apps_org_id_name_key_key", _) => {
            "A connected app with this name already exists in this organization".to_owned()
        }
        ("connected_apps_pkey", _) => {
            "A connected app with this client id already exists".to_owned()
        }
        _ => "A record with the same unique value already exists".to_owned(),
    }
}

/// An update or delete of one row by key: no row touched means it was not there.
pub(crate) fn changed(rows_affected: u64) -> keyhouse_core::store::StoreResult<()> {
    if rows_affected == 0 {
        Err(keyhouse_core::store::StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_faults_are_unavailable() {
        assert!(matches!(
            map_err(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_err(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        assert!(matches!(
            map_err(sqlx::Error::ColumnNotFound("x".to_owned())),
            StoreError::Corrupt(_)
        ));
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient("08006"));
        assert!(is_transient("40001"));
        assert!(is_transient("57P01"));
        assert!(!is_transient("42P01"));
        assert!(!is_transient(""));
    }

    #[test]
    fn conflict_messages_name_the_rule() {
        assert_eq!(
            conflict_message("users_username_key_key", Writing::Nothing),
            "This username is already taken"
        );
        assert!(conflict_message("whatever", Writing::Nothing).contains("already exists"));
        assert!(
            conflict_message("connected_apps_org_id_name_key_key", Writing::Nothing)
                .contains("connected app")
        );
    }
}
