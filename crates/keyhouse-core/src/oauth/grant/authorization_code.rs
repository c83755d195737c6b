//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): a code is
//! redeemed once, by the client it was issued to, with the same redirect URI
//! and the PKCE verifier of its challenge.

use std::net::IpAddr;

use super::user_tokens::Issue;
use crate::access::GrantType;
use crate::audit::AuditEvent;
use crate::authn::token::{TokenHash, TOKEN_MAX_LEN};
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{TokenRequest, TokenResponse};
use crate::oauth::pkce;
use crate::oauth::records::{AuthorizationCode, CodeRedemption};
use crate::service::CachedApp;
use crate::Keyhouse;

fn invalid(msg: &str) -> OAuthError {
    OAuthError::InvalidGrant(msg.to_owned())
}

impl Keyhouse {
    pub(super) async fn authorization_code(
        &self,
        app: &CachedApp,
        request: TokenRequest,
        source: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let code = request
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("code is required".to_owned()))?;
        if code.len() > TOKEN_MAX_LEN {
            return Err(invalid("The code is not valid"));
        }
        let now = self.clock.now();
        let record = match self
            .store
            .redeem_authorization_code(&TokenHash::of(code), now)
            .await?
        {
            CodeRedemption::Unknown => return Err(invalid("The code is not valid")),
            CodeRedemption::AlreadyUsed(used) => {
                // A replayed code: whoever has it, the tokens issued from the
                // first use are no longer safe (RFC 6749 §4.1.2, CG-02).
                self.kill_code_family(&used, source).await?;
                return Err(invalid("The code has already been used"));
            }
            CodeRedemption::Redeemed(record) => record,
        };
        self.check_code(app, &record, &request)?;
        let user = self.load_user(record.user_id).await?;
        let user = self.grant_user(app, user, false).await?;
        let scopes: Vec<String> = record
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        self.issue_user_tokens(Issue {
            app,
            user: &user,
            scopes,
            refresh_scopes: None,
            grant: GrantType::AuthorizationCode,
            family: Some((record.family_id.clone(), None)),
            auth_time: record.auth_time,
            nonce: record.nonce.clone(),
            source,
        })
        .await
    }

    /// The bindings of a code (CG-03, CG-04, CG-05, PK-02..PK-04).
    fn check_code(
        &self,
        app: &CachedApp,
        record: &AuthorizationCode,
        request: &TokenRequest,
    ) -> Result<(), OAuthError> {
        if record.client_id != app.app.client_id {
            return Err(invalid("The code was issued to another client"));
        }
        if record.expires_at <= self.clock.now() {
            return Err(invalid("The code has expired"));
        }
        let sent = request.redirect_uri.as_deref();
        let bound = (!record.redirect_uri.is_empty()).then_some(record.redirect_uri.as_str());
        match (bound, sent) {
            (Some(b), Some(s)) if b == s => {}
            (None, None) => {}
            (None, Some(s))
                if app.app.redirect_uris.len() == 1 && app.app.redirect_uris[0] == s => {}
            _ => {
                return Err(invalid(
                    "redirect_uri does not match the authorization request",
                ))
            }
        }
        if app.app.public_client && record.code_challenge.is_none() {
            return Err(invalid("Public clients must use PKCE"));
        }
        match (&record.code_challenge, request.code_verifier.as_deref()) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(invalid(
                "code_verifier sent, but the authorization request had no code_challenge",
            )),
            (Some(_), None) => Err(invalid("code_verifier is required")),
            (Some(challenge), Some(verifier)) => {
                if pkce::valid_verifier(verifier) && pkce::verifies(verifier, challenge) {
                    Ok(())
                } else {
                    Err(invalid("code_verifier does not match the code_challenge"))
                }
            }
        }
    }

    /// Revokes every token issued from a code that was presented twice.
    async fn kill_code_family(
        &self,
        code: &AuthorizationCode,
        source: Option<IpAddr>,
    ) -> Result<(), OAuthError> {
        let event = AuditEvent::new(
            self.clock.now(),
            "authorization.code_reused",
            "connected_app",
        )
        .user(code.user_id)
        .client(&code.client_id)
        .object(code.client_id.clone())
        .source(source)
        .failed();
        self.store
            .revoke_refresh_family(&code.family_id, &[event])
            .await
            .map_err(|e| OAuthError::Server(e.into()))?;
        self.sessions
            .remove_user_client(code.user_id, &code.client_id);
        Ok(())
    }
}
