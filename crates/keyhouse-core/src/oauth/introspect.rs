//! Token introspection (RFC 7662): an authenticated client asks whether a token
//! is active and what it carries.

use std::net::IpAddr;

use super::client_auth::ClientCredentials;
use super::error::OAuthError;
use crate::authn::token::TOKEN_MAX_LEN;
use crate::error::CoreError;
use crate::time_fmt::Timestamp;
use crate::Keyhouse;

/// The facts about an active token (RFC 7662 §2.2).
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub client_id: Option<String>,
    /// The user id, or the client id for an app's own token.
    pub sub: String,
    pub username: Option<String>,
    /// The app's scopes as they are now (space-separated), for app tokens.
    pub scope: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Keyhouse {
    /// `POST /accounts/api/v2/oauth2/introspect`. `Ok(None)` means `{"active": false}`:
    /// unknown, expired, revoked, or issued to a disabled or reset app.
    pub async fn introspect(
        &self,
        caller: &ClientCredentials,
        token: &str,
        source: Option<IpAddr>,
    ) -> Result<Option<ActiveToken>, OAuthError> {
        if caller.method == super::client_auth::ClientAuthMethod::None {
            // RFC 7662 §2.1: introspection needs real authentication.
            return Err(OAuthError::InvalidClient);
        }
        self.authenticate_client(caller, source).await?;
        if token.is_empty() || token.len() > TOKEN_MAX_LEN {
            return Ok(None);
        }
        let principal = match self.authenticate(token).await {
            Ok(p) => p,
            Err(CoreError::InvalidToken) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let (sub, username) = match principal.user_id {
            Some(user_id) => {
                let user = self.load_user(user_id).await?;
                match user {
                    Some(u) if u.enabled => (u.id.to_string(), Some(u.username)),
                    _ => return Ok(None),
                }
            }
            None => (principal.client_id.clone().unwrap_or_default(), None),
        };
        let scope = match &principal.client_id {
            Some(client_id) if principal.user_id.is_none() => {
                let app = self.cached_app(client_id).await?;
                app.map(|a| {
                    let mut names: Vec<&str> = Vec::new();
                    for name in a.app.scopes.iter().chain(a.grants.iter().map(|g| &g.scope)) {
                        if !names.contains(&name.as_str()) {
                            names.push(name);
                        }
                    }
                    names.join(" ")
                })
            }
            _ => principal.scope.clone(),
        };
        Ok(Some(ActiveToken {
            client_id: principal.client_id,
            sub,
            username,
            scope,
            issued_at: principal.issued_at,
            expires_at: principal.expires_at,
        }))
    }
}
