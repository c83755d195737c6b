//! Issuing tokens to an app acting for a user: one path for every user grant,
//! so lifetimes, refresh-token rules, ID tokens and audit are the same everywhere.

use std::net::IpAddr;

use crate::access::{GrantType, User};
use crate::audit::AuditEvent;
use crate::authn::token::{mint, AccessTokenRecord};
use crate::oauth::error::OAuthError;
use crate::oauth::grant::TokenResponse;
use crate::oauth::records::RefreshTokenRecord;
use crate::service::CachedApp;
use crate::time_fmt::Timestamp;
use crate::Keyhouse;

/// Lifetime of a token an app holds for a user (Anypoint: `expires_in` 3600).
pub const USER_TOKEN_LIFETIME_MINUTES: i64 = 60;

/// What the tokens are issued for.
pub(super) struct Issue<'a> {
    pub app: &'a CachedApp,
    pub user: &'a User,
    pub scopes: Vec<String>,
    /// The refresh token's scope when it differs from the access token's
    /// (a narrowed refresh request); `None` means the same.
    pub refresh_scopes: Option<Vec<String>>,
    pub grant: GrantType,
    /// The refresh family to continue (refresh, code) with its fixed expiry,
    /// or `None` to start one.
    pub family: Option<(String, Option<Timestamp>)>,
    pub auth_time: Timestamp,
    pub nonce: Option<String>,
    pub source: Option<IpAddr>,
}

impl Keyhouse {
    /// Stores and returns the access token, a refresh token when `offline_access`
    /// was granted and the app may refresh (RT-07), and an ID token with `openid`.
    pub(super) async fn issue_user_tokens(
        &self,
        issue: Issue<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        let app = &issue.app.app;
        let now = self.clock.now();
        let scope = issue.scopes.join(" ");
        let access = mint();
        let record = AccessTokenRecord {
            hash: access.hash,
            user_id: Some(issue.user.id),
            client_id: Some(app.client_id.clone()),
            org_id: issue.user.org_id,
            created_at: now,
            expires_at: now.plus_minutes(USER_TOKEN_LIFETIME_MINUTES),
            scope: Some(scope.clone()),
        };
        let refresh_scopes = issue.refresh_scopes.as_ref().unwrap_or(&issue.scopes);
        let refresh_scope = refresh_scopes.join(" ");
        let wants_refresh = refresh_scopes.iter().any(|s| s == "offline_access")
            && app.allows(GrantType::RefreshToken);
        let refresh = wants_refresh.then(mint);
        let refresh_record = refresh.as_ref().map(|r| {
            let (family_id, expires_at) = issue.family.clone().unwrap_or_default();
            RefreshTokenRecord {
                hash: r.hash,
                family_id: if family_id.is_empty() {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    family_id
                },
                client_id: app.client_id.clone(),
                user_id: issue.user.id,
                scope: refresh_scope.clone(),
                auth_time: issue.auth_time,
                created_at: now,
                expires_at: expires_at.unwrap_or_else(|| {
                    now.plus_minutes(self.settings.refresh_token_days * 24 * 60)
                }),
                rotated_at: None,
            }
        });
        let event = AuditEvent::new(now, "token.issued", "connected_app")
            .org(app.org_id)
            .user(issue.user.id)
            .client(&app.client_id)
            .object(app.client_id.clone())
            .source(issue.source)
            .with("grant_type", issue.grant.as_str())
            .with("scope", scope.clone())
            .with("refresh_token", refresh.is_some());
        self.store
            .insert_user_tokens(&record, refresh_record.as_ref(), &[event])
            .await
            .map_err(|e| OAuthError::Server(e.into()))?;
        self.sessions.insert(record);
        let id_token = if issue.scopes.iter().any(|s| s == "openid") {
            let scopes: Vec<&str> = issue.scopes.iter().map(String::as_str).collect();
            Some(self.id_token(
                issue.user,
                &app.client_id,
                &scopes,
                issue.nonce.as_deref(),
                issue.auth_time,
                &access.secret,
            )?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access.secret,
            expires_in: USER_TOKEN_LIFETIME_MINUTES * 60,
            scope: Some(scope),
            refresh_token: refresh.map(|r| r.secret),
            id_token,
        })
    }

    /// The scopes a password or JWT-bearer request gets: the requested ones, each
    /// registered on the app (RFC 6749 §3.3), or all registered ones.
    pub(super) fn requested_scopes(
        app: &CachedApp,
        scope: Option<&str>,
    ) -> Result<Vec<String>, OAuthError> {
        let Some(raw) = scope.filter(|s| !s.trim().is_empty()) else {
            return Ok(app.app.scopes.clone());
        };
        crate::oauth::scope::requested_subset(raw, |s| app.app.scopes.iter().any(|r| r == s))
            .map_err(|wanted| {
                OAuthError::InvalidScope(format!(
                    "The app may not ask for the scope '{}'",
                    crate::ids::truncate(wanted)
                ))
            })
    }

    /// The user a grant speaks for, if still enabled and allowed to use the app
    /// (`internal` apps serve only their own organization's tree; with
    /// `same_tree`, every app does, as for JWT-bearer subjects, JB-08).
    pub(super) async fn grant_user(
        &self,
        app: &CachedApp,
        user: Option<User>,
        same_tree: bool,
    ) -> Result<User, OAuthError> {
        let user = user.filter(|u| u.enabled).ok_or_else(|| {
            OAuthError::InvalidGrant("The user is unknown or disabled".to_owned())
        })?;
        let app_root = self
            .load_root_of(app.app.org_id)
            .await?
            .ok_or_else(|| OAuthError::InvalidGrant("The app's organization is gone".to_owned()))?;
        if (same_tree || app.app.audience == crate::access::Audience::Internal)
            && user.org_id != app_root
        {
            return Err(OAuthError::InvalidGrant(
                "This app is internal to another organization".to_owned(),
            ));
        }
        Ok(user)
    }
}
