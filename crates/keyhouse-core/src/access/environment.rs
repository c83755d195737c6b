//! Environments of an organization: production, sandbox or design.

use crate::error::CoreError;
use crate::ids::{EnvId, OrgId};
use crate::time_fmt::Timestamp;

/// Longest environment name accepted.
pub const ENV_NAME_MAX_CHARS: usize = 255;

/// Anypoint's environment types; only `production` is `isProduction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvType {
    Production,
    Sandbox,
    Design,
}

impl EnvType {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvType::Production => "production",
            EnvType::Sandbox => "sandbox",
            EnvType::Design => "design",
        }
    }

    /// Parses the wire spelling (case-insensitive, as clients vary).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw.to_ascii_lowercase().as_str() {
            "production" => Ok(EnvType::Production),
            "sandbox" => Ok(EnvType::Sandbox),
            "design" => Ok(EnvType::Design),
            _ => Err(CoreError::Validation(format!(
                "Environment type '{}' is not valid: use production, sandbox or design",
                crate::ids::truncate(raw)
            ))),
        }
    }
}

/// An environment within one organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub id: EnvId,
    pub org_id: OrgId,
    pub name: String,
    pub env_type: EnvType,
    /// Anypoint's 32-hex env `clientId`.
    pub client_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Environment {
    /// Anypoint `isProduction`: derived from the type so the two never disagree.
    pub fn is_production(&self) -> bool {
        self.env_type == EnvType::Production
    }
}

/// Checks an environment name: trimmed, non-empty, bounded, printable.
pub fn parse_env_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(CoreError::Validation(
            "Environment name must not be empty".to_owned(),
        ));
    }
    if name.chars().count() > ENV_NAME_MAX_CHARS {
        return Err(CoreError::Validation(format!(
            "Environment name must be at most {ENV_NAME_MAX_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::Validation(
            "Environment name must not contain control characters".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse() {
        assert_eq!(EnvType::parse("Sandbox").ok(), Some(EnvType::Sandbox));
        assert!(EnvType::parse("staging").is_err());
        assert!(parse_env_name("").is_err());
    }
}
