//! Browser sign-in sessions behind the authorization pages: the cookie holds a
//! random 256-bit value, storage holds its SHA-256 hash (checklist SE-01, ST-01).

use crate::authn::token::TokenHash;
use crate::ids::UserId;
use crate::time_fmt::Timestamp;

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserSession {
    pub hash: TokenHash,
    pub user_id: UserId,
    /// When the user entered their password (OIDC `auth_time`, `max_age`).
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    /// The organization's session timeout after sign-in (Anypoint "Default session timeout").
    pub expires_at: Timestamp,
}
