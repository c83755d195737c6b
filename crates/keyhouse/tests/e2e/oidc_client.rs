//! A standard OpenID Connect relying party, unchanged: the Rust `openidconnect`
//! crate discovers Keyhouse from its base URL, runs the authorization code
//! flow with PKCE and a nonce (the pages driven without a browser), validates
//! the ID token against the JWKS, calls UserInfo and refreshes.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::support::pages::{authorize_without_browser, Agent, Decision};
use crate::support::user_apps::{create_user_app, user_id, ADMIN_USERNAME};
use crate::support::{TestServer, ADMIN_PASSWORD};

/// Never contacted: the test reads the redirect from the `Location` header.
const REDIRECT_URI: &str = "http://127.0.0.1:9/oidc/callback";

#[tokio::test]
async fn the_openidconnect_crate_signs_a_user_in_and_refreshes() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "OIDC Relying Party", REDIRECT_URI).await;
    let admin_id = user_id(&admin).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Discovery (and the JWKS) from the issuer URL alone.
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {e:?}"));
    assert_eq!(metadata.issuer().as_str(), server.base);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        Some(ClientSecret::new(app.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());

    // The authorization request (openid is added by the crate).
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(
        auth_url.as_str().starts_with(&format!(
            "{}/accounts/api/v2/oauth2/authorize?",
            server.base
        )),
        "{auth_url}"
    );
    let back =
        authorize_without_browser(&server, auth_url.as_str(), ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    let query = |name: &str| {
        back.query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        query("state").as_deref(),
        Some(csrf.secret().as_str()),
        "{back}"
    );
    assert_eq!(
        query("iss").as_deref(),
        Some(server.base.as_str()),
        "{back}"
    );
    let code = query("code").unwrap_or_else(|| panic!("no code in {back}"));

    // The code exchange, and the ID token checked the standard way.
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("code exchange failed: {e:?}"));
    let granted: Vec<String> = token
        .scopes()
        .expect("scope in the token answer")
        .iter()
        .map(|s| s.to_string())
        .collect();
    for scope in ["openid", "profile", "email", "offline_access"] {
        assert!(
            granted.iter().any(|s| s == scope),
            "{scope} not in {granted:?}"
        );
    }
    let id_token = token.id_token().expect("id_token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"));
    assert_eq!(claims.subject().as_str(), admin_id);
    assert_eq!(claims.issuer().as_str(), server.base);
    assert!(claims.audiences().iter().any(|a| **a == app.client_id));
    assert!(claims.auth_time().is_some(), "auth_time missing");
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(actual_hash, *expected_hash);

    // UserInfo with the access token.
    let info: CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo failed: {e:?}"));
    assert_eq!(info.subject().as_str(), admin_id);
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some(ADMIN_USERNAME)
    );
    let me = admin.get("/accounts/api/users/me").await.json();
    if let Some(email) = me["email"].as_str().filter(|e| !e.is_empty()) {
        assert_eq!(info.email().map(|e| e.as_str()), Some(email));
    }

    // Refresh: a new access token and a rotated refresh token.
    let first_refresh = token.refresh_token().expect("refresh_token").clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh failed: {e:?}"));
    assert_ne!(
        refreshed.access_token().secret(),
        token.access_token().secret()
    );
    let second_refresh = refreshed.refresh_token().expect("rotated refresh_token");
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    if let Some(id_token) = refreshed.id_token() {
        let claims = id_token
            .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
            .unwrap_or_else(|e| panic!("refreshed ID token rejected: {e:?}"));
        assert_eq!(claims.subject().as_str(), admin_id);
    }
    let info: CoreUserInfoClaims = client
        .user_info(
            refreshed.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo with the refreshed token failed: {e:?}"));
    assert_eq!(info.subject().as_str(), admin_id);

    // Presenting the used refresh token again revokes the whole family.
    let reuse = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect_err("a used refresh token must be refused");
    assert!(format!("{reuse:?}").contains("invalid_grant"), "{reuse:?}");
    let revoked = server
        .client()
        .with_token(refreshed.access_token().secret())
        .get("/accounts/api/v2/oauth2/userinfo")
        .await;
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    let revoked_refresh = client
        .exchange_refresh_token(second_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect_err("the family's newer refresh token is revoked too");
    assert!(
        format!("{revoked_refresh:?}").contains("invalid_grant"),
        "{revoked_refresh:?}"
    );
}

#[tokio::test]
async fn a_denial_reaches_the_relying_party_as_access_denied() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "OIDC Denied", REDIRECT_URI).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap_or_else(|e| panic!("discovery failed: {e:?}"));
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        Some(ClientSecret::new(app.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());
    let (challenge, _verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, _nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let back = Agent::new(&server)
        .authorize_with(
            auth_url.as_str(),
            ADMIN_USERNAME,
            ADMIN_PASSWORD,
            Decision::Deny,
        )
        .await;
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("error"), Some("access_denied"), "{back}");
    assert_eq!(get("state"), Some(csrf.secret().as_str()), "{back}");
    assert_eq!(get("iss"), Some(server.base.as_str()), "{back}");
    assert_eq!(get("code"), None, "{back}");
}
