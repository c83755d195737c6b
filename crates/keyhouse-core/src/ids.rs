//! Identifiers, parsed at the boundary so no raw string ids travel past it.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::CoreError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses an id from a path or body; a malformed id is a 400-class error.
            pub fn parse(raw: &str) -> Result<Self, CoreError> {
                Uuid::parse_str(raw)
                    .map(Self)
                    .map_err(|_| CoreError::Validation(format!("{} '{}' is not a valid id", $what, truncate(raw))))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Organization or business-group id (Anypoint: UUID string).
    OrgId,
    "organization"
);
uuid_id!(
    /// Environment id (Anypoint: UUID string).
    EnvId,
    "environment"
);
uuid_id!(
    /// User id (Anypoint: UUID string).
    UserId,
    "user"
);

/// Anypoint's org/env `clientId`: 32 lowercase hex characters.
pub fn generate_client_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Keeps echoed input short in error messages.
pub fn truncate(raw: &str) -> String {
    const MAX: usize = 64;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        let cut: String = raw.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_reject() {
        let id = OrgId::generate();
        assert_eq!(OrgId::parse(&id.to_string()).ok(), Some(id));
        assert!(OrgId::parse("not-a-uuid").is_err());
        assert_eq!(generate_client_id().len(), 32);
    }
}
