//! Users and their membership in organizations.

use crate::error::CoreError;
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// Longest username accepted.
pub const USERNAME_MAX_CHARS: usize = 128;
/// Longest first/last name or email accepted.
pub const FIELD_MAX_CHARS: usize = 255;
/// Shortest password accepted for new accounts.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted anywhere (bounds the Argon2 input).
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// A person who signs in with a username and password.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    /// The root organization the user belongs to (Anypoint `organizationId`).
    pub org_id: OrgId,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: Option<String>,
    /// Argon2id PHC string; `None` for users who may only sign in through federation.
    pub password_hash: Option<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login: Option<Timestamp>,
}

/// What a membership allows in an organization and, for admins, in its business groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Organization Administrator: manages the org and everything beneath it.
    Admin,
    /// Member: sees the org and its environments.
    Member,
}

impl Role {
    /// Storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// A user's role in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
}

/// Usernames are unique regardless of case: this is the key they are stored under.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Checks a new username: 1–128 characters, letters, digits and `._-@+`.
pub fn parse_username(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > USERNAME_MAX_CHARS {
        return Err(CoreError::Validation(format!(
            "username must be 1 to {USERNAME_MAX_CHARS} characters"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
    {
        return Err(CoreError::Validation(
            "username may contain only letters, digits and . _ - @ +".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// Checks a new password's length (Argon2id hashes it; the bound keeps hashing cheap to refuse).
pub fn check_new_password(raw: &str) -> Result<(), CoreError> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN_CHARS {
        return Err(CoreError::Validation(format!(
            "password must be at least {PASSWORD_MIN_CHARS} characters"
        )));
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(CoreError::Validation(format!(
            "password must be at most {PASSWORD_MAX_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checks a free-text profile field (names, email) for length and control characters.
pub fn parse_profile_field(field: &str, raw: &str) -> Result<String, CoreError> {
    let value = raw.trim();
    if value.chars().count() > FIELD_MAX_CHARS || value.chars().any(char::is_control) {
        return Err(CoreError::Validation(format!(
            "{field} must be at most {FIELD_MAX_CHARS} printable characters"
        )));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username_key(" Alice "), "alice");
        assert!(parse_username("a b").is_err());
        assert!(parse_username("").is_err());
        assert!(parse_username("alice.l@example.com").is_ok());
        assert!(check_new_password("short").is_err());
    }
}
