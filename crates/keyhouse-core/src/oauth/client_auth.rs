//! Client authentication (RFC 6749 §2.3.1) for the token, introspection and
//! revocation endpoints and the `~~~Client~~~` Basic shortcut: one code path,
//! one throttle, constant-time comparison, one answer for every failure.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::error::OAuthError;
use super::secret;
use crate::access::connected_app::CLIENT_ID_MAX_CHARS;
use crate::service::CachedApp;
use crate::Keyhouse;

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` (client_secret_basic).
    Basic,
    /// `client_id`/`client_secret` in a form or JSON body (client_secret_post).
    Post,
    /// Anypoint's `Basic base64("~~~Client~~~:" + id + "~?~" + secret)` on resource APIs.
    Shortcut,
    /// `client_id` alone, for public clients (RFC 6749 §2.3, RFC 7591 `none`).
    None,
}

/// Credentials as presented; the secret redacts itself.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub method: ClientAuthMethod,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("method", &self.method)
            .finish()
    }
}

/// Failures after which each further failure is answered a little later.
const SLOW_AFTER: u32 = 3;
/// Added delay per failure beyond [`SLOW_AFTER`], capped at one second.
const SLOW_STEP_MS: u64 = 100;

impl Keyhouse {
    /// Verifies a client's credentials: the app must exist, be enabled and the
    /// secret must match its stored hash. Throttled per client id and per
    /// source address; a throttled key is refused even with the right secret.
    pub async fn authenticate_client(
        &self,
        creds: &ClientCredentials,
        source: Option<IpAddr>,
    ) -> Result<Arc<CachedApp>, OAuthError> {
        let now = self.clock.now();
        let account_key = format!("client:{}", creds.client_id);
        let address_key = source.map(|ip| ip.to_string());
        self.throttles
            .accounts
            .check(&account_key, now)
            .map_err(|retry_after_secs| OAuthError::Throttled { retry_after_secs })?;
        if let Some(key) = &address_key {
            self.throttles
                .addresses
                .check(key, now)
                .map_err(|retry_after_secs| OAuthError::Throttled { retry_after_secs })?;
        }
        let app = if creds.client_id.is_empty() || creds.client_id.len() > CLIENT_ID_MAX_CHARS {
            None
        } else {
            self.cached_app(&creds.client_id).await?
        };
        // Hash even when the app is unknown, so both failures take the same time.
        let stored = app
            .as_ref()
            .map(|a| a.app.secret_hash)
            .unwrap_or(self.dummy_secret);
        let secret_ok = secret::matches(&creds.client_secret, &stored);
        // A public client proves nothing but its id, so it never passes with a
        // secret, and a confidential one never passes without (CA-03).
        let method_ok = |public: bool| (creds.method == ClientAuthMethod::None) == public;
        let ok = |app: &CachedApp| {
            app.app.enabled
                && method_ok(app.app.public_client)
                && (app.app.public_client || secret_ok)
        };
        match app {
            Some(app) if ok(&app) => {
                self.throttles.accounts.success(&account_key);
                Ok(app)
            }
            _ => {
                let failures = self.throttles.accounts.failure(&account_key, now);
                if let Some(key) = &address_key {
                    self.throttles.addresses.failure(key, now);
                }
                tracing::info!(client_id = %creds.client_id, failures, "client authentication failed");
                if failures > SLOW_AFTER {
                    let delay = (u64::from(failures - SLOW_AFTER) * SLOW_STEP_MS).min(1000);
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                Err(OAuthError::InvalidClient)
            }
        }
    }
}
