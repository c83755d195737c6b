//! sqlx errors → storage errors, with readable messages for uniqueness rules.

use keyhouse_core::ids::truncate;
use keyhouse_core::store::StoreError;

/// Maps any sqlx error; unique violations name the rule that was broken.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(conflict_message(db.message()).to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict("The change refers to an object that does not exist".to_owned())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(err.to_string()),
        _ => StoreError::Unavailable(err.to_string()),
    }
}

/// Maps an error raised while writing the connected app named `name`, so a
/// name clash names the app.
pub(crate) fn map_app_err(err: sqlx::Error, name: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.message().contains("connected_apps.name_key") =>
        {
            StoreError::Conflict(format!(
                "A connected app named '{}' already exists in this organization",
                truncate(name)
            ))
        }
        _ => map_err(err),
    }
}

fn conflict_message(raw: &str) -> &'static str {
    if raw.contains("connected_apps.name_key") {
        "A connected app with this name already exists in this organization"
    } else if raw.contains("connected_apps.client_id") {
        "A connected app with this client id already exists"
    } else if raw.contains("environments.org_id") || raw.contains("environments.name") {
        "An environment with this name already exists in this organization"
    } else if raw.contains("users.username_key") {
        "This username is already taken"
    } else if raw.contains("organizations.domain") {
        "This organization domain is already taken"
    } else {
        "The object already exists"
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
