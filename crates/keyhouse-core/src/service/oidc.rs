//! OpenID Connect provider duties: signing keys (create, reload, rotate),
//! ID tokens, UserInfo and discovery metadata (OIDC Core 1.0, Discovery 1.0).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::Keyhouse;
use crate::access::User;
use crate::error::{CoreError, CoreResult};
use crate::oauth::scope::{ScopeContext, CATALOGUE};
use crate::oidc::id_token::{at_hash, ID_TOKEN_LIFETIME_SECS};
use crate::oidc::signing::{generate_signing_key, KeyRing};
use crate::store::Store;
use crate::time_fmt::Timestamp;

/// How long a retired key stays published: longer than any ID token it signed.
const RETIRED_KEY_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Loads the signing keys, creating the first one on a fresh database.
pub(crate) async fn load_or_create_keys(store: &dyn Store, now: Timestamp) -> CoreResult<KeyRing> {
    let mut records = store.list_signing_keys().await?;
    if !records.iter().any(|r| r.retired_at.is_none()) {
        let key = tokio::task::spawn_blocking(move || generate_signing_key(now))
            .await
            .map_err(|e| CoreError::Internal(format!("key generation failed: {e}")))??;
        store.insert_signing_key(&key).await?;
        tracing::info!(kid = %key.kid, "created the first ID-token signing key");
        records = store.list_signing_keys().await?;
    }
    KeyRing::from_records(&records)
}

/// What a user's ID token and UserInfo say, depending on the granted scopes.
fn identity_claims(user: &User, scopes: &[&str], claims: &mut Map<String, Value>) {
    claims.insert("sub".into(), json!(user.id.to_string()));
    claims.insert("preferred_username".into(), json!(user.username));
    if scopes.contains(&"profile") {
        let name = format!("{} {}", user.first_name, user.last_name);
        claims.insert("name".into(), json!(name.trim()));
        claims.insert("given_name".into(), json!(user.first_name));
        claims.insert("family_name".into(), json!(user.last_name));
        claims.insert("updated_at".into(), json!(user.updated_at.0 / 1000));
    }
    if scopes.contains(&"email") && !user.email.is_empty() {
        claims.insert("email".into(), json!(user.email));
        // Keyhouse does not verify addresses; say so rather than guess.
        claims.insert("email_verified".into(), json!(false));
    }
}

impl Keyhouse {
    fn key_ring(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the keys from storage (another node or `keyhouse keys rotate`
    /// may have changed them) and drops keys retired long enough ago.
    pub async fn reload_keys(&self) -> CoreResult<()> {
        let now = self.clock.now();
        self.store
            .delete_retired_keys(Timestamp(now.0 - RETIRED_KEY_KEPT_MS))
            .await?;
        let ring = Arc::new(load_or_create_keys(self.store.as_ref(), now).await?);
        match self.keys.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }

    /// `keyhouse keys rotate`: a new key signs from now on; the previous one stays
    /// in the JWKS until the ID tokens it signed have expired. Returns the new kid.
    pub async fn rotate_keys(&self) -> CoreResult<String> {
        let now = self.clock.now();
        let key = tokio::task::spawn_blocking(move || generate_signing_key(now))
            .await
            .map_err(|e| CoreError::Internal(format!("key generation failed: {e}")))??;
        self.store.rotate_signing_key(&key, now).await?;
        self.reload_keys().await?;
        Ok(key.kid)
    }

    /// The public keys (RFC 7517), old ones included until they may be dropped.
    pub fn jwks(&self) -> Value {
        self.key_ring().jwks()
    }

    /// A signed ID token (OIDC Core §2) for `user`, issued to `client_id`.
    pub(crate) fn id_token(
        &self,
        user: &User,
        client_id: &str,
        scopes: &[&str],
        nonce: Option<&str>,
        auth_time: Timestamp,
        access_token: &str,
    ) -> CoreResult<String> {
        let now = self.clock.now().0 / 1000;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.settings.issuer));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("azp".into(), json!(client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME_SECS));
        claims.insert("auth_time".into(), json!(auth_time.0 / 1000));
        claims.insert("at_hash".into(), json!(at_hash(access_token)));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        identity_claims(user, scopes, &mut claims);
        self.key_ring().sign(&Value::Object(claims))
    }

    /// `GET|POST /accounts/api/v2/oauth2/userinfo`: claims about the user a
    /// token speaks for; needs a token granted `openid` (OIDC Core §5.3).
    pub async fn userinfo(&self, bearer: &str) -> CoreResult<Value> {
        let principal = self.authenticate(bearer).await?;
        let (Some(_), Some(_)) = (principal.user_id, &principal.client_id) else {
            return Err(CoreError::InsufficientScope("openid".to_owned()));
        };
        let actor = self.actor(&principal).await?;
        let crate::access::Actor::User(actor) = actor else {
            return Err(CoreError::InvalidToken);
        };
        let scopes: Vec<&str> = actor
            .delegated_scopes
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !scopes.contains(&"openid") {
            return Err(CoreError::InsufficientScope("openid".to_owned()));
        }
        let mut claims = Map::new();
        identity_claims(&actor.user, &scopes, &mut claims);
        Ok(Value::Object(claims))
    }

    /// OpenID Provider metadata (OIDC Discovery §3, RFC 8414 §2).
    pub fn discovery(&self) -> Value {
        let base = &self.settings.issuer;
        let scopes: Vec<&str> = CATALOGUE
            .iter()
            .filter(|s| s.context == ScopeContext::Global)
            .map(|s| s.name)
            .collect();
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/accounts/api/v2/oauth2/authorize"),
            "token_endpoint": format!("{base}/accounts/api/v2/oauth2/token"),
            "userinfo_endpoint": format!("{base}/accounts/api/v2/oauth2/userinfo"),
            "jwks_uri": format!("{base}/accounts/api/v2/oauth2/jwks"),
            "revocation_endpoint": format!("{base}/accounts/api/v2/oauth2/revoke"),
            "introspection_endpoint": format!("{base}/accounts/api/v2/oauth2/introspect"),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code", "refresh_token", "client_credentials", "password",
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
                "preferred_username", "name", "given_name", "family_name", "updated_at",
                "email", "email_verified"
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            // RFC 8414 §2: where developers find how to use this server (the
            // OpenAPI document of every endpoint, issue 7).
            "service_documentation": format!("{base}/openapi.json"),
        })
    }
}
