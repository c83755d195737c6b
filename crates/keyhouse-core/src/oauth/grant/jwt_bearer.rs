//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): the
//! app proves who the user is with an assertion signed by one of its
//! registered keys. Verified before the `jti` is recorded (JB-13).

use std::net::IpAddr;

use super::user_tokens::Issue;
use crate::access::user::username_key;
use crate::access::GrantType;
use crate::oauth::assertion::{verify_assertion, AssertionRules};
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{TokenRequest, TokenResponse};
use crate::oauth::records::UsedAssertion;
use crate::service::CachedApp;
use crate::Keyhouse;

/// The username in a `sub`: Anypoint's `v2|<idp id>|<username>|<first>|<last>|<email>|<groups>`
/// (idp id and username mandatory), or a plain username.
fn subject_username(sub: &str) -> Option<&str> {
    if !sub.contains('|') {
        return Some(sub);
    }
    let parts: Vec<&str> = sub.split('|').collect();
    match parts.as_slice() {
        [_version, idp, username, ..] if !idp.is_empty() && !username.is_empty() => Some(username),
        _ => None,
    }
}

impl Keyhouse {
    pub(super) async fn jwt_bearer(
        &self,
        app: &CachedApp,
        request: TokenRequest,
        source: Option<IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let assertion = request
            .assertion
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("assertion is required".to_owned()))?;
        let scopes = Self::requested_scopes(app, request.scope.as_deref())?;
        let now = self.clock.now();
        let audiences = [
            self.settings.token_endpoint(),
            self.settings.issuer.clone(),
            format!("{}/accounts/oauth2/token", self.settings.issuer),
        ];
        let rules = AssertionRules {
            client_id: &app.app.client_id,
            audiences: &audiences,
            now,
        };
        let claims = verify_assertion(assertion, &app.app.public_keys, &rules)
            .map_err(|e| OAuthError::InvalidGrant(e.to_string()))?;
        let fresh = self
            .store
            .record_assertion(&UsedAssertion {
                client_id: app.app.client_id.clone(),
                jti: claims.jti.clone(),
                expires_at: claims.exp,
            })
            .await?;
        if !fresh {
            return Err(OAuthError::InvalidGrant(
                "The assertion has already been used (jti)".to_owned(),
            ));
        }
        let username = subject_username(&claims.sub).ok_or_else(|| {
            OAuthError::InvalidGrant("The assertion's sub is malformed".to_owned())
        })?;
        // Unknown subjects are refused, never provisioned (docs/user-grants.md, JB-14).
        let user = match username.chars().count() {
            1..=crate::access::user::USERNAME_MAX_CHARS => {
                self.store
                    .find_user_by_username_key(&username_key(username))
                    .await?
            }
            _ => None,
        };
        let user = self.grant_user(app, user, true).await?;
        self.remember_grant(app, &user, &scopes, GrantType::JwtBearer, source)
            .await?;
        self.issue_user_tokens(Issue {
            app,
            user: &user,
            scopes,
            refresh_scopes: None,
            grant: GrantType::JwtBearer,
            family: None,
            auth_time: now,
            nonce: None,
            source,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anypoint_subjects() {
        assert_eq!(subject_username("ada"), Some("ada"));
        assert_eq!(subject_username("v2|idp-1|ada|Ada|L|a@x|g"), Some("ada"));
        assert_eq!(subject_username("v2||ada"), None);
        assert_eq!(subject_username("v2|idp"), None);
    }
}
