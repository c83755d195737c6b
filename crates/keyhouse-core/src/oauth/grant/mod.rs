//! The token endpoint (RFC 6749 §3.2): one file per grant; this module parses
//! the grant type and dispatches.

mod client_credentials;

use std::net::IpAddr;

use super::client_auth::ClientCredentials;
use super::error::OAuthError;
use crate::access::GrantType;
use crate::Keyhouse;

/// A token request after the HTTP layer has parsed the body.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    /// Space-separated scopes (RFC 6749 §3.3), if the client asked for some.
    pub scope: Option<String>,
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    /// Present when the client asked for specific scopes.
    pub scope: Option<String>,
}

impl Keyhouse {
    /// `POST /accounts/api/v2/oauth2/token`: authenticates the client, then runs
    /// the requested grant.
    pub async fn token(
        &self,
        request: TokenRequest,
        client: Option<ClientCredentials>,
        source: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        if request.grant_type.is_empty() {
            return Err(OAuthError::InvalidRequest(
                "grant_type is required".to_owned(),
            ));
        }
        let grant = GrantType::parse(&request.grant_type).ok_or_else(|| {
            OAuthError::UnsupportedGrantType(format!(
                "grant_type '{}' is not supported",
                crate::ids::truncate(&request.grant_type)
            ))
        })?;
        let client = client.ok_or(OAuthError::InvalidClient)?;
        let app = self.authenticate_client(&client, source).await?;
        if !app.app.allows(grant) {
            return Err(OAuthError::UnauthorizedClient(format!(
                "This app may not use the {} grant",
                grant.as_str()
            )));
        }
        match grant {
            GrantType::ClientCredentials => self.client_credentials(&app, request.scope).await,
            other => Err(OAuthError::UnsupportedGrantType(format!(
                "The {} grant is not available on this server yet",
                other.as_str()
            ))),
        }
    }
}
