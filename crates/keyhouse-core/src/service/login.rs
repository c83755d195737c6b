//! Username/password login, bearer validation and logout.

use super::Keyhouse;
use crate::access::user::{username_key, PASSWORD_MAX_CHARS, USERNAME_MAX_CHARS};
use crate::authn::password::verify_blocking;
use crate::authn::token::{mint, AccessTokenRecord, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// An authenticated caller, as resolved from a bearer token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: TokenHash,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub expires_at: Timestamp,
}

/// What a successful login hands back: the token string, shown once.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in_secs: i64,
}

impl Keyhouse {
    /// `POST /accounts/login`. Unknown user, wrong password and disabled user all
    /// give [`CoreError::InvalidCredentials`] after the same Argon2id work.
    pub async fn login(&self, username: &str, password: &str) -> CoreResult<IssuedToken> {
        if username.trim().is_empty() || password.is_empty() {
            return Err(CoreError::Validation(
                "username and password are required".to_owned(),
            ));
        }
        if username.chars().count() > USERNAME_MAX_CHARS
            || password.chars().count() > PASSWORD_MAX_CHARS
        {
            return Err(CoreError::InvalidCredentials);
        }
        let user = self
            .store
            .find_user_by_username_key(&username_key(username))
            .await?;
        let (phc, candidate) = match &user {
            Some(u) => (
                u.password_hash
                    .clone()
                    .unwrap_or_else(|| self.dummy_hash.clone()),
                true,
            ),
            None => (self.dummy_hash.clone(), false),
        };
        let matches =
            verify_blocking(self.settings.password_policy, password.to_owned(), phc).await;
        let user = match user {
            Some(u) if candidate && matches && u.enabled && u.password_hash.is_some() => u,
            _ => return Err(CoreError::InvalidCredentials),
        };
        let org = self
            .store
            .find_organization(user.org_id)
            .await?
            .ok_or_else(|| CoreError::Internal("user without organization".to_owned()))?;
        let now = self.clock.now();
        let lifetime = i64::from(org.session_timeout_minutes);
        let token = mint();
        let record = AccessTokenRecord {
            hash: token.hash,
            user_id: user.id,
            org_id: org.id,
            created_at: now,
            expires_at: now.plus_minutes(lifetime),
        };
        self.store.insert_token(&record).await?;
        self.sessions.insert(record);
        self.store.record_login(user.id, now).await?;
        Ok(IssuedToken {
            access_token: token.secret,
            expires_in_secs: lifetime * 60,
        })
    }

    /// Resolves a bearer token to its principal: a memory lookup; storage is read
    /// only on a miss when other nodes share the database.
    pub async fn authenticate(&self, bearer: &str) -> CoreResult<Principal> {
        if bearer.is_empty() || bearer.len() > TOKEN_MAX_LEN {
            return Err(CoreError::InvalidToken);
        }
        let hash = TokenHash::of(bearer);
        let now = self.clock.now();
        let record = match self.sessions.get_live(&hash, now) {
            Some(r) => r,
            None if self.store.is_shared() => {
                let found = self
                    .store
                    .find_token(&hash)
                    .await?
                    .filter(|r| r.expires_at > now)
                    .ok_or(CoreError::InvalidToken)?;
                self.sessions.insert(found.clone());
                found
            }
            None => return Err(CoreError::InvalidToken),
        };
        Ok(Principal {
            token: record.hash,
            user_id: record.user_id,
            org_id: record.org_id,
            expires_at: record.expires_at,
        })
    }

    /// `POST /accounts/api/logout`: the token stops working at once, here and
    /// (being deleted from storage) after a restart.
    pub async fn logout(&self, principal: &Principal) -> CoreResult<()> {
        self.store.delete_token(&principal.token).await?;
        self.sessions.remove(&principal.token);
        Ok(())
    }
}
