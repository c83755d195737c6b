//! Username/password login, bearer validation and logout.

use std::net::IpAddr;

use super::Keyhouse;
use crate::access::user::{username_key, PASSWORD_MAX_CHARS, USERNAME_MAX_CHARS};
use crate::access::User;
use crate::audit::AuditEvent;
use crate::authn::token::{mint, AccessTokenRecord, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::oauth::client_auth::ClientCredentials;
use crate::time_fmt::Timestamp;

/// An authenticated caller: a user (login token), or a connected app (its own
/// token or the `~~~Client~~~` shortcut).
#[derive(Debug, Clone)]
pub struct Principal {
    /// The bearer token, when the caller presented one (not for the shortcut).
    pub token: Option<TokenHash>,
    pub user_id: Option<UserId>,
    pub client_id: Option<String>,
    pub org_id: OrgId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Scopes granted to an app acting for the user (space-separated); `None`
    /// for a plain login and for an app's own token.
    pub scope: Option<String>,
    /// The address the request came from, when known: recorded as the
    /// `sourceAddress` of the audit events the request causes.
    pub source: Option<IpAddr>,
}

/// The `user.login` audit event of `POST /accounts/login` (success unless
/// marked failed), in the user's organization.
fn login_event(at: Timestamp, user: &User, source: Option<IpAddr>) -> AuditEvent {
    AuditEvent::new(at, "user.login", "user")
        .org(user.org_id)
        .user(user.id)
        .object(user.id.to_string())
        .source(source)
        .with("username", user.username.as_str())
}

/// What a successful login or grant hands back: the token string, shown once.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in_secs: i64,
}

impl Keyhouse {
    /// `POST /accounts/login`. Unknown user, wrong password and disabled user all
    /// give [`CoreError::InvalidCredentials`] after the same Argon2id work;
    /// failures are throttled per username and per source address. A user
    /// with MFA is refused after the password check (Anypoint: the login API
    /// cannot ask for a code) with [`super::MFA_LOGIN_REFUSAL`]. Each outcome
    /// for a known user is audited as `user.login` (an unknown username has
    /// no organization to record it in, and is only logged).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<IssuedToken> {
        let user = match self.check_password(username, password, source).await {
            Ok(user) => user,
            Err(CoreError::InvalidCredentials) => {
                if let Some(user) = self.login_subject(username).await? {
                    let event = login_event(self.clock.now(), &user, source)
                        .failed()
                        .with("reason", "invalid_credentials");
                    self.store.insert_audit_events(&[event]).await?;
                }
                return Err(CoreError::InvalidCredentials);
            }
            Err(other) => return Err(other),
        };
        if !self
            .password_only_allowed(&user, "api_login", source)
            .await?
        {
            let event = login_event(self.clock.now(), &user, source)
                .failed()
                .with("reason", "mfa_required");
            self.store.insert_audit_events(&[event]).await?;
            return Err(CoreError::Forbidden(super::MFA_LOGIN_REFUSAL.to_owned()));
        }
        // The success is committed with the token, in one transaction.
        let event = login_event(self.clock.now(), &user, source);
        self.issue_login_token(&user, Some(event)).await
    }

    /// A user's API token, as `POST /accounts/login` hands it out (also after
    /// a SAML `receive-id`): opaque, org session timeout, durable (with
    /// `event`, in the same transaction) before it is returned.
    pub(crate) async fn issue_login_token(
        &self,
        user: &User,
        event: Option<AuditEvent>,
    ) -> CoreResult<IssuedToken> {
        let now = self.clock.now();
        let lifetime = self.session_minutes(user).await?;
        let token = mint();
        let record = AccessTokenRecord {
            hash: token.hash,
            user_id: Some(user.id),
            client_id: None,
            org_id: user.org_id,
            created_at: now,
            expires_at: now.plus_minutes(lifetime),
            scope: None,
        };
        match event {
            Some(event) => {
                self.token_writer
                    .write_with_event(record.clone(), event)
                    .await?
            }
            None => self.token_writer.write(record.clone()).await?,
        }
        self.sessions.insert(record);
        self.store.record_login(user.id, now).await?;
        self.directory.forget_user(user.id);
        Ok(IssuedToken {
            access_token: token.secret,
            expires_in_secs: lifetime * 60,
        })
    }

    /// The user a refused login named, if the username exists (for the audit log).
    async fn login_subject(&self, username: &str) -> CoreResult<Option<User>> {
        if username.chars().count() > USERNAME_MAX_CHARS {
            return Ok(None);
        }
        Ok(self
            .store
            .find_user_by_username_key(&username_key(username))
            .await?)
    }

    /// The organization's session timeout for a user, in minutes (Anypoint
    /// "Default session timeout").
    pub(crate) async fn session_minutes(&self, user: &User) -> CoreResult<i64> {
        let org = self
            .store
            .find_organization(user.org_id)
            .await?
            .ok_or_else(|| CoreError::Internal("user without organization".to_owned()))?;
        Ok(i64::from(org.session_timeout_minutes))
    }

    /// Checks a username and password for every entry point that takes them
    /// (`/accounts/login`, the sign-in page, the password grant): one code path,
    /// one throttle (checklist BF-03, PW-03), the same Argon2id work whether the
    /// user exists or not (PW-02).
    pub(crate) async fn check_password(
        &self,
        username: &str,
        password: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<User> {
        if username.trim().is_empty() || password.is_empty() {
            return Err(CoreError::Validation(
                "username and password are required".to_owned(),
            ));
        }
        let key = username_key(username);
        let account_key = format!("user:{key}");
        let address_key = source.map(|ip| ip.to_string());
        let now = self.clock.now();
        self.throttles
            .accounts
            .check(&account_key, now)
            .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })?;
        if let Some(k) = &address_key {
            self.throttles
                .addresses
                .check(k, now)
                .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })?;
        }
        let too_long = username.chars().count() > USERNAME_MAX_CHARS
            || password.chars().count() > PASSWORD_MAX_CHARS;
        let user = if too_long {
            None
        } else {
            self.store.find_user_by_username_key(&key).await?
        };
        let phc = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let matches = !too_long && self.passwords.verify(password.to_owned(), phc).await;
        match user {
            Some(u) if matches && u.enabled && u.password_hash.is_some() => {
                self.throttles.accounts.success(&account_key);
                Ok(u)
            }
            _ => {
                self.throttles.accounts.failure(&account_key, now);
                if let Some(k) = &address_key {
                    self.throttles.addresses.failure(k, now);
                }
                tracing::info!(username = %crate::ids::truncate(&key), "login failed");
                Err(CoreError::InvalidCredentials)
            }
        }
    }

    /// Resolves a bearer token to its principal: a memory lookup; storage is read
    /// only on a miss when other nodes share the database. An app's token dies
    /// with the app's disabling, deletion or secret reset.
    pub async fn authenticate(&self, bearer: &str) -> CoreResult<Principal> {
        if bearer.is_empty() || bearer.len() > TOKEN_MAX_LEN {
            return Err(CoreError::InvalidToken);
        }
        let record = self.live_token(&TokenHash::of(bearer)).await?;
        if let Some(client_id) = &record.client_id {
            match self.cached_app(client_id).await? {
                Some(app) if app.app.enabled && record.created_at >= app.app.secret_updated_at => {}
                _ => return Err(CoreError::InvalidToken),
            }
        }
        Ok(Principal {
            token: Some(record.hash),
            user_id: record.user_id,
            client_id: record.client_id,
            org_id: record.org_id,
            issued_at: record.created_at,
            expires_at: record.expires_at,
            scope: record.scope,
            source: None,
        })
    }

    /// The live (unexpired, not revoked) record of a token.
    pub(crate) async fn live_token(&self, hash: &TokenHash) -> CoreResult<AccessTokenRecord> {
        let now = self.clock.now();
        if let Some(record) = self.sessions.get_live(hash, now) {
            return Ok(record);
        }
        if !self.store.is_shared() {
            return Err(CoreError::InvalidToken);
        }
        let found = self
            .store
            .find_token(hash)
            .await?
            .filter(|r| r.expires_at > now)
            .ok_or(CoreError::InvalidToken)?;
        self.sessions.insert(found.clone());
        Ok(found)
    }

    /// Anypoint's `~~~Client~~~` Basic shortcut: the app's credentials stand in
    /// for a bearer token, under the same checks and throttle as the token endpoint.
    pub async fn authenticate_shortcut(
        &self,
        creds: &ClientCredentials,
        source: Option<IpAddr>,
    ) -> CoreResult<Principal> {
        let app = self
            .authenticate_client(creds, source)
            .await
            .map_err(|e| match e {
                crate::oauth::error::OAuthError::Throttled { retry_after_secs } => {
                    CoreError::Throttled { retry_after_secs }
                }
                crate::oauth::error::OAuthError::Server(inner) => inner,
                _ => CoreError::InvalidToken,
            })?;
        Ok(Principal {
            token: None,
            user_id: None,
            client_id: Some(app.app.client_id.clone()),
            org_id: app.app.org_id,
            issued_at: self.clock.now(),
            expires_at: self.clock.now(),
            scope: None,
            source,
        })
    }

    /// `POST /accounts/api/logout`: the token stops working at once, here and
    /// (being deleted from storage) after a restart.
    pub async fn logout(&self, principal: &Principal) -> CoreResult<()> {
        let token = principal.token.ok_or_else(|| {
            CoreError::Validation("Only a bearer token can be logged out".to_owned())
        })?;
        let mut event = crate::audit::AuditEvent::new(self.clock.now(), "token.logout", "token")
            .org(principal.org_id)
            .source(principal.source);
        if let Some(user) = principal.user_id {
            event = event.user(user).object(user.to_string());
        }
        if let Some(client) = &principal.client_id {
            event = event.client(client);
        }
        self.store
            .delete_token_audited(&token, principal.expires_at, &[event])
            .await?;
        self.sessions.remove(&token);
        Ok(())
    }
}
