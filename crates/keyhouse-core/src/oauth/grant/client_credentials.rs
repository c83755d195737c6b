//! `grant_type=client_credentials` (RFC 6749 §4.4): an app acting on its own behalf.

use crate::authn::token::{mint, AccessTokenRecord};
use crate::authn::token_writer::IssueNote;
use crate::oauth::error::OAuthError;
use crate::oauth::grant::TokenResponse;
use crate::service::CachedApp;
use crate::Keyhouse;

/// Lifetime of an app's own token: Anypoint answers `expires_in: 3600`.
pub const APP_TOKEN_LIFETIME_MINUTES: i64 = 60;

impl Keyhouse {
    /// Issues an opaque token for the app. No scopes are stored with the token:
    /// every request checks the app's scopes as they are at that moment. A
    /// `scope` parameter may only name scopes the app holds (RFC 6749 §4.4.2).
    pub(super) async fn client_credentials(
        &self,
        app: &CachedApp,
        scope: Option<String>,
        source: Option<std::net::IpAddr>,
    ) -> Result<TokenResponse, OAuthError> {
        let requested = scope.map(|s| {
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        if let Some(scopes) = &requested {
            for wanted in scopes {
                let held = wanted == "profile"
                    || app.app.scopes.iter().any(|s| s == wanted)
                    || app.grants.iter().any(|g| &g.scope == wanted);
                if !held {
                    return Err(OAuthError::InvalidScope(format!(
                        "The app does not hold the scope '{}'",
                        crate::ids::truncate(wanted)
                    )));
                }
            }
        }
        let now = self.clock.now();
        let token = mint();
        let record = AccessTokenRecord {
            hash: token.hash,
            user_id: None,
            client_id: Some(app.app.client_id.clone()),
            org_id: app.app.org_id,
            created_at: now,
            expires_at: now.plus_minutes(APP_TOKEN_LIFETIME_MINUTES),
            scope: None,
        };
        let note = IssueNote {
            grant: "client_credentials",
            source,
        };
        self.token_writer
            .write_noted(record.clone(), Some(note))
            .await
            .map_err(OAuthError::Server)?;
        self.sessions.insert(record);
        Ok(TokenResponse {
            access_token: token.secret,
            expires_in: APP_TOKEN_LIFETIME_MINUTES * 60,
            scope: requested.filter(|s| !s.is_empty()).map(|s| s.join(" ")),
            refresh_token: None,
            id_token: None,
        })
    }
}
