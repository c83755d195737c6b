//! The token endpoint (RFC 6749 §3.2): one file per grant; this module parses
//! the grant type and dispatches.

mod authorization_code;
mod client_credentials;
mod jwt_bearer;
mod password;
mod refresh_token;
mod user_tokens;

use std::net::IpAddr;

use super::client_auth::ClientCredentials;
use super::error::OAuthError;
use crate::access::GrantType;
use crate::Keyhouse;

/// A token request after the HTTP layer has parsed the body. Secrets
/// (password, codes, tokens, assertions) redact themselves in `Debug`.
#[derive(Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    /// Space-separated scopes (RFC 6749 §3.3), if the client asked for some.
    pub scope: Option<String>,
    /// `authorization_code`: the code, the redirect URI and the PKCE verifier.
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `password`.
    pub username: Option<String>,
    pub password: Option<String>,
    /// JWT bearer (RFC 7523 §2.1).
    pub assertion: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("scope", &self.scope)
            .field("redirect_uri", &self.redirect_uri)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A successful token answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    /// The granted scopes, when they may differ from what was asked.
    pub scope: Option<String>,
    /// Only with `offline_access` for apps allowed the refresh_token grant.
    pub refresh_token: Option<String>,
    /// Only with `openid`.
    pub id_token: Option<String>,
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
        // The grants acting for users are boxed: their state machines are
        // large, and inline they made every token request's future (moved
        // through each middleware layer) that large too (issue 4).
        match grant {
            GrantType::ClientCredentials => {
                self.client_credentials(&app, request.scope, source).await
            }
            GrantType::AuthorizationCode => {
                Box::pin(self.authorization_code(&app, request, source)).await
            }
            GrantType::RefreshToken => Box::pin(self.refresh_token(&app, request, source)).await,
            GrantType::Password => Box::pin(self.password_grant(&app, request, source)).await,
            GrantType::JwtBearer => Box::pin(self.jwt_bearer(&app, request, source)).await,
        }
    }
}
