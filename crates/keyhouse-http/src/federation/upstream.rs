//! The OpenID Connect relying party Keyhouse uses to sign people in through
//! an upstream provider: the `openidconnect` crate over reqwest does
//! discovery, the authorization URL (state, nonce, PKCE S256), the code
//! exchange and the ID-token checks (signature against the JWKS, `iss`,
//! `aud`, `exp`, `nonce`). Implements the core's [`UpstreamOidc`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyhouse_core::federation::{
    OidcSettings, ProviderSecret, UpstreamAuthRequest, UpstreamCodeExchange, UpstreamError,
    UpstreamOidc, VerifiedClaims,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpClientError, HttpRequest,
    HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::{Map, Value};

/// How long a discovery document and its JWKS are reused.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// Most issuers whose metadata is kept (the cache is cleared beyond this).
const METADATA_CACHE_MAX: usize = 256;
/// Bound on every request to an upstream.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest UserInfo answer read.
const USERINFO_MAX_BYTES: usize = 64 * 1024;

/// The ID-token signature algorithms accepted: asymmetric ones only (no
/// `none`, no HMAC with the client secret).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// A client built from discovered metadata (authorization endpoint set,
/// token and UserInfo endpoints as discovered).
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The relying party: one HTTP client (no redirects followed, bounded
/// time) and a small cache of discovery documents per issuer.
pub struct OidcUpstream {
    http: Guarded,
    metadata: Mutex<HashMap<String, (Instant, Arc<CoreProviderMetadata>)>>,
}

/// True for the URLs Keyhouse contacts on an upstream's behalf: `https`, or
/// plain `http` on a loopback address only. Applies to every URL, including
/// those a discovery document names (JWKS, token, UserInfo), so an upstream
/// cannot point Keyhouse at plain-http services of its network.
fn endpoint_allowed(uri: &openidconnect::http::Uri) -> bool {
    match uri.scheme_str() {
        Some("https") => true,
        Some("http") => {
            let host = uri.host().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            bare.eq_ignore_ascii_case("localhost")
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// The reqwest client behind [`endpoint_allowed`]: what `openidconnect` uses
/// for discovery, the JWKS and the token endpoint.
struct Guarded(reqwest::Client);

type HttpFuture<'c> = Pin<
    Box<
        dyn Future<Output = Result<HttpResponse, HttpClientError<reqwest::Error>>>
            + Send
            + Sync
            + 'c,
    >,
>;

impl<'c> AsyncHttpClient<'c> for Guarded {
    type Error = HttpClientError<reqwest::Error>;
    type Future = HttpFuture<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        if !endpoint_allowed(request.uri()) {
            let refused = format!(
                "refused to contact {} (https only; plain http on loopback addresses)",
                request.uri()
            );
            return Box::pin(async move { Err(HttpClientError::Other(refused)) });
        }
        self.0.call(request)
    }
}

/// An error with its causes, for logs and the audit log.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The process-wide relying party (one connection pool, one metadata cache),
/// built on first use.
pub fn shared() -> Result<&'static OidcUpstream, UpstreamError> {
    static SHARED: OnceLock<Result<OidcUpstream, String>> = OnceLock::new();
    SHARED
        .get_or_init(OidcUpstream::new)
        .as_ref()
        .map_err(|e| UpstreamError::Unavailable(e.clone()))
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Unavailable(format!("{what}: {err}"))
}

fn unavailable_because(what: &str, err: &dyn std::error::Error) -> UpstreamError {
    UpstreamError::Unavailable(format!("{what}: {}", with_causes(err)))
}

impl OidcUpstream {
    /// A relying party with its own HTTP client. Redirects are not followed
    /// (an upstream cannot bounce Keyhouse's requests elsewhere).
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self {
            http: Guarded(http),
            metadata: Mutex::new(HashMap::new()),
        })
    }

    /// The provider's discovery document with its JWKS, from the cache unless
    /// it is older than [`METADATA_TTL`] or `fresh` is asked for.
    async fn metadata(
        &self,
        issuer: &str,
        fresh: bool,
    ) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        if !fresh {
            if let Ok(cache) = self.metadata.lock() {
                if let Some((at, found)) = cache.get(issuer) {
                    if at.elapsed() < METADATA_TTL {
                        return Ok(found.clone());
                    }
                }
            }
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| unavailable("issuer", e))?;
        let found = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| unavailable_because("discovery", &e))?;
        let found = Arc::new(found);
        if let Ok(mut cache) = self.metadata.lock() {
            if cache.len() >= METADATA_CACHE_MAX {
                cache.clear();
            }
            cache.insert(issuer.to_owned(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    fn client(
        metadata: &CoreProviderMetadata,
        provider: &OidcSettings,
        secret: Option<&ProviderSecret>,
        redirect_uri: &str,
    ) -> Result<DiscoveredClient, UpstreamError> {
        let redirect =
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| unavailable("redirect", e))?;
        let methods = metadata.token_endpoint_auth_methods_supported();
        // OIDC Discovery §3: client_secret_basic is the default when none is listed.
        let post_only = methods.is_some_and(|m| {
            !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && m.contains(&CoreClientAuthMethod::ClientSecretPost)
        });
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(provider.client_id.clone()),
            secret.map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(redirect);
        Ok(if post_only {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }

    /// Claims the ID token lacks but UserInfo has (OIDC Core §5.3); UserInfo
    /// must name the same `sub` (§5.3.4). Signed (JWT) answers are skipped.
    async fn userinfo(
        &self,
        metadata: &CoreProviderMetadata,
        access_token: &str,
        subject: &str,
    ) -> Result<Option<Map<String, Value>>, UpstreamError> {
        let Some(endpoint) = metadata.userinfo_endpoint() else {
            return Ok(None);
        };
        let allowed = endpoint
            .url()
            .as_str()
            .parse::<openidconnect::http::Uri>()
            .is_ok_and(|uri| endpoint_allowed(&uri));
        if !allowed {
            return Err(unavailable("userinfo", "plain-http endpoint refused"));
        }
        let mut response = self
            .http
            .0
            .get(endpoint.url().clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable_because("userinfo", &e))?;
        let json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !response.status().is_success() || !json {
            return Ok(None);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable("userinfo", e))?
        {
            if body.len() + chunk.len() > USERINFO_MAX_BYTES {
                return Err(unavailable("userinfo", "answer too large"));
            }
            body.extend_from_slice(&chunk);
        }
        let claims: Map<String, Value> =
            serde_json::from_slice(&body).map_err(|e| unavailable("userinfo", e))?;
        if claims.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(UpstreamError::InvalidIdToken(
                "UserInfo names another subject".to_owned(),
            ));
        }
        Ok(Some(claims))
    }
}

/// Every claim of a compact JWS whose signature was already verified.
fn payload_claims(compact: &str) -> Result<Map<String, Value>, UpstreamError> {
    let payload = compact
        .split('.')
        .nth(1)
        .ok_or_else(|| UpstreamError::InvalidIdToken("not a compact JWS".to_owned()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| UpstreamError::InvalidIdToken(format!("payload: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| UpstreamError::InvalidIdToken(format!("payload: {e}")))
}

#[async_trait]
impl UpstreamOidc for OidcUpstream {
    async fn authorization_url(
        &self,
        provider: &OidcSettings,
        request: UpstreamAuthRequest<'_>,
    ) -> Result<String, UpstreamError> {
        let metadata = self.metadata(&provider.issuer, false).await?;
        let client = Self::client(&metadata, provider, None, request.redirect_uri)?;
        let state = request.state.to_owned();
        let nonce = request.nonce.to_owned();
        let mut builder = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        );
        // `openid` is added by the crate.
        for scope in provider.scopes.iter().filter(|s| *s != "openid") {
            builder = builder.add_scope(Scope::new(scope.clone()));
        }
        // The core computed the S256 challenge; its verifier stays in the
        // pending sign-in, so the challenge is added as plain parameters.
        let (url, _, _) = builder
            .add_extra_param("code_challenge", request.pkce_challenge)
            .add_extra_param("code_challenge_method", "S256")
            .url();
        Ok(url.to_string())
    }

    async fn exchange_code(
        &self,
        provider: &OidcSettings,
        secret: Option<&ProviderSecret>,
        exchange: UpstreamCodeExchange<'_>,
    ) -> Result<VerifiedClaims, UpstreamError> {
        let metadata = self.metadata(&provider.issuer, false).await?;
        let client = Self::client(&metadata, provider, secret, exchange.redirect_uri)?;
        let token = client
            .exchange_code(AuthorizationCode::new(exchange.code.to_owned()))
            .map_err(|e| unavailable("token endpoint", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(exchange.pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(answer) => {
                    UpstreamError::Refused(answer.error().to_string())
                }
                other => unavailable_because("token endpoint", &other),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| UpstreamError::InvalidIdToken("no id_token in the answer".to_owned()))?;
        let nonce = Nonce::new(exchange.nonce.to_owned());
        let verified = {
            let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
            id_token
                .claims(&verifier, &nonce)
                .map(|c| c.subject().to_string())
        };
        let subject = match verified {
            Ok(subject) => subject,
            // The upstream may have rotated its keys since discovery: fetch
            // them again, once, and check again.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let metadata = self.metadata(&provider.issuer, true).await?;
                let client = Self::client(&metadata, provider, secret, exchange.redirect_uri)?;
                let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
                id_token
                    .claims(&verifier, &nonce)
                    .map(|c| c.subject().to_string())
                    .map_err(|e| UpstreamError::InvalidIdToken(e.to_string()))?
            }
            Err(other) => return Err(UpstreamError::InvalidIdToken(other.to_string())),
        };
        let mut claims = payload_claims(&id_token.to_string())?;
        let access_token = token.access_token().secret();
        if let Some(extra) = self.userinfo(&metadata, access_token, &subject).await? {
            for (name, value) in extra {
                claims.entry(name).or_insert(value);
            }
        }
        Ok(VerifiedClaims { subject, claims })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_contacted() {
        let allowed = |u: &str| endpoint_allowed(&u.parse().unwrap());
        assert!(allowed("https://idp.example.com/jwks"));
        assert!(allowed("http://127.0.0.1:8080/jwks"));
        assert!(allowed("http://localhost/jwks"));
        assert!(allowed("http://[::1]:9/jwks"));
        assert!(!allowed("http://169.254.169.254/latest/meta-data"));
        assert!(!allowed("http://idp.example.com/jwks"));
        assert!(!allowed("ftp://idp.example.com/jwks"));
    }

    #[test]
    fn payload_claims_read_every_claim() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","upn":"ada@example.com","n":3}"#);
        let claims = payload_claims(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(claims["upn"], "ada@example.com");
        assert_eq!(claims["n"], 3);
        assert!(payload_claims("nodots").is_err());
        assert!(payload_claims("a.!!!.c").is_err());
    }
}
