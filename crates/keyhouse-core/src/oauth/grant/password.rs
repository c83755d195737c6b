//! `grant_type=password` (RFC 6749 §4.3): kept for Anypoint compatibility, opt-in
//! per app (checklist PW-06), with the same password check and throttle as
//! every other password entry point (PW-02, PW-03).

use std::net::IpAddr;

use super::user_tokens::Issue;
use crate::access::GrantType;
use crate::error::CoreError;
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{TokenRequest, TokenResponse};
use crate::service::CachedApp;
use crate::Keyhouse;

impl Keyhouse {
    pub(super) async fn password_grant(
        &self,
        app: &CachedApp,
        request: TokenRequest,
        source: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let (Some(username), Some(password)) =
            (request.username.as_deref(), request.password.as_deref())
        else {
            return Err(OAuthError::InvalidRequest(
                "username and password are required".to_owned(),
            ));
        };
        let scopes = Self::requested_scopes(app, request.scope.as_deref())?;
        let user = match self.check_password(username, password, source).await {
            Ok(user) => user,
            Err(CoreError::InvalidCredentials) => {
                return Err(OAuthError::InvalidGrant(
                    "Invalid username or password".to_owned(),
                ))
            }
            Err(other) => return Err(other.into()),
        };
        // The grant cannot ask for a second factor (Anypoint refuses it too).
        if !self
            .password_only_allowed(&user, "password_grant", source)
            .await?
        {
            return Err(OAuthError::InvalidGrant(
                crate::service::MFA_GRANT_REFUSAL.to_owned(),
            ));
        }
        let user = self.grant_user(app, Some(user), false).await?;
        self.remember_grant(app, &user, &scopes, GrantType::Password, source)
            .await?;
        let now = self.clock.now();
        self.issue_user_tokens(Issue {
            app,
            user: &user,
            scopes,
            refresh_scopes: None,
            grant: GrantType::Password,
            family: None,
            auth_time: now,
            nonce: None,
            source,
        })
        .await
    }

    /// Records (or widens) the user's grant to the app, so it shows among their
    /// authorized apps and can be revoked there.
    pub(super) async fn remember_grant(
        &self,
        app: &CachedApp,
        user: &crate::access::User,
        scopes: &[String],
        grant: GrantType,
        source: Option<IpAddr>,
    ) -> Result<(), OAuthError> {
        let client_id = &app.app.client_id;
        let existing = self.store.find_consent(user.id, client_id).await?;
        let merged = crate::oauth::authorize::merge_scopes(
            existing.as_ref().map(|c| c.scope.as_str()),
            scopes,
        );
        if existing.as_ref().is_some_and(|c| c.scope == merged) {
            return Ok(());
        }
        let now = self.clock.now();
        let consent = crate::oauth::records::Consent {
            user_id: user.id,
            client_id: client_id.clone(),
            scope: merged.clone(),
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
            last_used_at: existing.and_then(|c| c.last_used_at),
        };
        let event = crate::audit::AuditEvent::new(now, "consent.granted", "connected_app")
            .org(app.app.org_id)
            .user(user.id)
            .client(client_id)
            .object(client_id.clone())
            .source(source)
            .with("scope", merged)
            .with("grant_type", grant.as_str());
        self.store.upsert_consent(&consent, &[event]).await?;
        Ok(())
    }
}
