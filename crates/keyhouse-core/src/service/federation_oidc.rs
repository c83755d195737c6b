//! Sign-in through an upstream OpenID Connect provider (issue 6 §4):
//! starting it (state, nonce, PKCE, bound to the browser) and finishing it
//! at the callback.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::federation::{FederatedSignIn, FederationCallback, FederationStart, REQUEST_MAX_BYTES};
use super::{Keyhouse, NewBrowserSession};
use crate::authn::token::{mint, TokenHash, TOKEN_MAX_LEN};
use crate::error::{CoreError, CoreResult};
use crate::federation::{
    FederationFailure, FederationState, IdentityProvider, ProviderId, UpstreamAuthRequest,
    UpstreamCodeExchange, UpstreamOidc, FEDERATION_STATE_LIFETIME_MS,
};
use crate::time_fmt::Timestamp;

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2).
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Keyhouse {
    /// `GET /accounts/login/oidc/{providerId}/start`: remembers a new pending
    /// sign-in (state, nonce, PKCE verifier, the request to resume, bound to
    /// this browser) and returns the upstream URL to send the browser to.
    pub async fn federation_start(
        &self,
        upstream: &dyn UpstreamOidc,
        provider_id: &str,
        request: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<FederationStart, FederationFailure>> {
        if request.len() > REQUEST_MAX_BYTES {
            return Err(CoreError::Validation(
                "The authorization request is too long".to_owned(),
            ));
        }
        let Ok(id) = ProviderId::parse(provider_id) else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let Some(provider) = self.store.find_identity_provider(id).await? else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let Some(settings) = provider.oidc() else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        let now = self.clock.now();
        // Abandoned sign-ins go here rather than in a background job.
        self.store.purge_expired_federation_states(now).await?;
        let (state, nonce, verifier, binding) = (mint(), mint(), mint(), mint());
        let redirect_uri = self.federation_callback_url();
        let challenge = pkce_challenge(&verifier.secret);
        let url = upstream
            .authorization_url(
                settings,
                UpstreamAuthRequest {
                    redirect_uri: &redirect_uri,
                    state: &state.secret,
                    nonce: &nonce.secret,
                    pkce_challenge: &challenge,
                },
            )
            .await;
        let url = match url {
            Ok(url) => url,
            Err(err) => {
                let failure = FederationFailure::UpstreamFailed;
                self.federation_failed(&provider, &failure, Some(&err.to_string()), source)
                    .await?;
                return Ok(Err(failure));
            }
        };
        let record = FederationState {
            state_hash: state.hash,
            provider_id: provider.id,
            binding_hash: binding.hash,
            nonce: nonce.secret,
            pkce_verifier: verifier.secret,
            request: request.to_owned(),
            created_at: now,
            expires_at: Timestamp(now.0 + FEDERATION_STATE_LIFETIME_MS),
        };
        self.store.insert_federation_state(&record).await?;
        Ok(Ok(FederationStart {
            redirect: url,
            binding_cookie: binding.secret,
            max_age_secs: FEDERATION_STATE_LIFETIME_MS / 1000,
        }))
    }

    /// `GET /accounts/login/oidc/callback`: consumes the pending sign-in (once),
    /// checks it belongs to this browser, exchanges the code, validates the ID
    /// token, and signs the person in (provisioning them on first visit).
    pub async fn federation_finish(
        &self,
        upstream: &dyn UpstreamOidc,
        callback: FederationCallback<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<FederatedSignIn, FederationFailure>> {
        let Some(state) = callback
            .state
            .filter(|s| !s.is_empty() && s.len() <= TOKEN_MAX_LEN)
        else {
            return Ok(Err(FederationFailure::InvalidState));
        };
        // Unknown states are not audited: anybody can send one, and each
        // would cost a write.
        let Some(pending) = self
            .store
            .consume_federation_state(&TokenHash::of(state))
            .await?
        else {
            return Ok(Err(FederationFailure::InvalidState));
        };
        let Some(provider) = self
            .store
            .find_identity_provider(pending.provider_id)
            .await?
        else {
            return Ok(Err(FederationFailure::UnknownProvider));
        };
        match self
            .finish_pending(upstream, &provider, &pending, callback, source)
            .await?
        {
            Ok(session) => Ok(Ok(FederatedSignIn {
                session,
                request: pending.request,
            })),
            Err((failure, detail)) => {
                self.federation_failed(&provider, &failure, detail.as_deref(), source)
                    .await?;
                Ok(Err(failure))
            }
        }
    }

    /// The checks and the sign-in after a pending sign-in was consumed; a
    /// failure comes with a detail for the audit log.
    async fn finish_pending(
        &self,
        upstream: &dyn UpstreamOidc,
        provider: &IdentityProvider,
        pending: &FederationState,
        callback: FederationCallback<'_>,
        source: Option<IpAddr>,
    ) -> CoreResult<Result<NewBrowserSession, (FederationFailure, Option<String>)>> {
        let now = self.clock.now();
        if pending.expires_at <= now {
            return Ok(Err((
                FederationFailure::InvalidState,
                Some("expired".to_owned()),
            )));
        }
        let bound = callback
            .binding_cookie
            .filter(|c| !c.is_empty() && c.len() <= TOKEN_MAX_LEN)
            .is_some_and(|c| bool::from(TokenHash::of(c).0.ct_eq(&pending.binding_hash.0)));
        if !bound {
            return Ok(Err((
                FederationFailure::InvalidState,
                Some("started in another browser".to_owned()),
            )));
        }
        let Some(settings) = provider.oidc() else {
            return Ok(Err((FederationFailure::UnknownProvider, None)));
        };
        // RFC 9207: an `iss` that names another issuer is a mix-up attack.
        if callback.iss.is_some_and(|iss| iss != settings.issuer) {
            return Ok(Err((
                FederationFailure::UpstreamFailed,
                Some("iss parameter names another issuer".to_owned()),
            )));
        }
        if let Some(error) = callback.error {
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect();
            return Ok(Err((FederationFailure::UpstreamRefused(code), None)));
        }
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Ok(Err((
                FederationFailure::UpstreamFailed,
                Some("no code".to_owned()),
            )));
        };
        let redirect_uri = self.federation_callback_url();
        let exchanged = upstream
            .exchange_code(
                settings,
                provider.secret.as_ref(),
                UpstreamCodeExchange {
                    redirect_uri: &redirect_uri,
                    code,
                    pkce_verifier: &pending.pkce_verifier,
                    nonce: &pending.nonce,
                },
            )
            .await;
        let claims = match exchanged {
            Ok(claims) => claims,
            Err(err) => {
                return Ok(Err((
                    FederationFailure::UpstreamFailed,
                    Some(err.to_string()),
                )))
            }
        };
        Ok(self
            .federated_sign_in(provider, &claims, source)
            .await?
            .map_err(|f| (f, None)))
    }
}
