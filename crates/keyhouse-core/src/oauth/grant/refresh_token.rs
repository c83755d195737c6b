//! `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use returns a
//! new refresh token, and presenting a used one revokes the whole family
//! (RFC 9700 §4.14.2, checklist RT-03).

use std::net::IpAddr;

use super::user_tokens::Issue;
use crate::access::GrantType;
use crate::audit::AuditEvent;
use crate::authn::token::{TokenHash, TOKEN_MAX_LEN};
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{TokenRequest, TokenResponse};
use crate::oauth::records::{RefreshRotation, RefreshTokenRecord};
use crate::service::CachedApp;
use crate::Keyhouse;

fn invalid(msg: &str) -> OAuthError {
    OAuthError::InvalidGrant(msg.to_owned())
}

impl Keyhouse {
    pub(super) async fn refresh_token(
        &self,
        app: &CachedApp,
        request: TokenRequest,
        source: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let presented = request
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".to_owned()))?;
        if presented.len() > TOKEN_MAX_LEN {
            return Err(invalid("The refresh token is not valid"));
        }
        let hash = TokenHash::of(presented);
        let now = self.clock.now();
        // Check the binding before touching it, so another client cannot burn
        // (and thereby revoke) a token it does not own (RT-01).
        let found = self
            .store
            .find_refresh_token(&hash)
            .await?
            .ok_or_else(|| invalid("The refresh token is not valid"))?;
        if found.client_id != app.app.client_id {
            return Err(invalid("The refresh token was issued to another client"));
        }
        // The scope is checked before the token is used up, so a refused
        // request does not burn it (the retry would look like a replay).
        let granted: Vec<&str> = found.scope.split(' ').filter(|s| !s.is_empty()).collect();
        let scopes: Vec<String> = match request.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            None => granted.iter().map(|s| (*s).to_owned()).collect(),
            Some(raw) => crate::oauth::scope::requested_subset(raw, |s| granted.contains(&s))
                .map_err(|wanted| {
                    OAuthError::InvalidScope(format!(
                        "The scope '{}' was not granted",
                        crate::ids::truncate(wanted)
                    ))
                })?,
        };
        let record = match self.store.rotate_refresh_token(&hash, now).await? {
            RefreshRotation::Unknown => return Err(invalid("The refresh token is not valid")),
            RefreshRotation::AlreadyRotated(used) => {
                self.kill_refresh_family(&used, source).await?;
                return Err(invalid("The refresh token has already been used"));
            }
            RefreshRotation::Rotated(record) => record,
        };
        if record.expires_at <= now {
            return Err(invalid("The refresh token has expired"));
        }
        // A secret reset ends everything obtained with the old secret.
        if record.created_at < app.app.secret_updated_at {
            return Err(invalid(
                "The refresh token predates the app's current secret",
            ));
        }
        let user = self.load_user(record.user_id).await?;
        let user = self.grant_user(app, user, false).await?;
        // The new refresh token keeps the family's scope and expiry (RFC 6749 §6);
        // a narrower request narrows only this access token.
        self.issue_user_tokens(Issue {
            app,
            user: &user,
            scopes,
            refresh_scopes: Some(granted.iter().map(|s| (*s).to_owned()).collect()),
            grant: GrantType::RefreshToken,
            family: Some((record.family_id.clone(), Some(record.expires_at))),
            auth_time: record.auth_time,
            nonce: None,
            source,
        })
        .await
    }

    /// Revokes a family after a replayed refresh token.
    async fn kill_refresh_family(
        &self,
        used: &RefreshTokenRecord,
        source: Option<IpAddr>,
    ) -> Result<(), OAuthError> {
        let event = AuditEvent::new(self.clock.now(), "refresh_token.reused", "connected_app")
            .user(used.user_id)
            .client(&used.client_id)
            .object(used.client_id.clone())
            .source(source)
            .failed()
            .with("family", used.family_id.clone());
        self.store
            .revoke_refresh_family(&used.family_id, &[event])
            .await
            .map_err(|e| OAuthError::Server(e.into()))?;
        self.sessions
            .remove_user_client(used.user_id, &used.client_id);
        Ok(())
    }
}
