//! Token revocation (RFC 7009): a client revokes a token issued to it.

use std::net::IpAddr;

use super::client_auth::ClientCredentials;
use super::error::OAuthError;
use crate::authn::token::{TokenHash, TOKEN_MAX_LEN};
use crate::error::CoreError;
use crate::Keyhouse;

impl Keyhouse {
    /// `POST /accounts/api/v2/oauth2/revoke`. An unknown or already dead token is
    /// answered with success (RFC 7009 §2.2); a token of another client is
    /// refused and stays alive (§2.1). Revocation is durable and immediate.
    pub async fn revoke(
        &self,
        caller: &ClientCredentials,
        token: &str,
        source: Option<IpAddr>,
    ) -> Result<(), OAuthError> {
        let app = self.authenticate_client(caller, source).await?;
        if token.is_empty() || token.len() > TOKEN_MAX_LEN {
            return Ok(());
        }
        let hash = TokenHash::of(token);
        let record = match self.live_token(&hash).await {
            Ok(r) => r,
            Err(CoreError::InvalidToken) => {
                return self.revoke_refresh(&app.app.client_id, &hash, source).await
            }
            Err(other) => return Err(other.into()),
        };
        if record.client_id.as_deref() != Some(app.app.client_id.as_str()) {
            return Err(OAuthError::UnauthorizedClient(
                "The token was not issued to this client".to_owned(),
            ));
        }
        let mut event =
            crate::audit::AuditEvent::new(self.clock.now(), "token.revoked", "connected_app")
                .org(record.org_id)
                .client(&app.app.client_id)
                .object(app.app.client_id.clone())
                .source(source);
        if let Some(user) = record.user_id {
            event = event.user(user);
        }
        self.store
            .delete_token_audited(&hash, record.expires_at, &[event])
            .await
            .map_err(|e| OAuthError::Server(e.into()))?;
        self.sessions.remove(&hash);
        Ok(())
    }

    /// Revoking a refresh token ends its whole family: the refresh tokens and
    /// the access tokens the app holds for that user (RFC 7009 §2.1, RT-04).
    async fn revoke_refresh(
        &self,
        client_id: &str,
        hash: &TokenHash,
        source: Option<IpAddr>,
    ) -> Result<(), OAuthError> {
        let Some(found) = self.store.find_refresh_token(hash).await? else {
            return Ok(());
        };
        if found.client_id != client_id {
            return Err(OAuthError::UnauthorizedClient(
                "The token was not issued to this client".to_owned(),
            ));
        }
        let event = crate::audit::AuditEvent::new(
            self.clock.now(),
            "refresh_token.revoked",
            "connected_app",
        )
        .user(found.user_id)
        .client(client_id)
        .object(client_id.to_owned())
        .source(source);
        self.store
            .revoke_refresh_family(&found.family_id, &[event])
            .await
            .map_err(|e| OAuthError::Server(e.into()))?;
        self.sessions.remove_user_client(found.user_id, client_id);
        Ok(())
    }
}
