//! Keyhouse as an OpenID Provider (docs/user-grants.md, "OpenID Connect"):
//! discovery, the JWKS, ID tokens checked against it, UserInfo, and signing-key
//! rotation.

use std::collections::BTreeSet;
use std::process::Stdio;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::Method;
use rsa::sha2::{Digest, Sha256};
use serde_json::{json, Value};

use crate::support::apps::{app_token, create_app, App};
use crate::support::grants::{code_tokens, field, CALLBACK};
use crate::support::user_apps::{create_user_app, user_id, UserApp, ADMIN_USERNAME};
use crate::support::{Client, TestServer};

const USERINFO: &str = "/accounts/api/v2/oauth2/userinfo";

async fn jwks(server: &TestServer) -> Value {
    let resp = server.client().get("/accounts/api/v2/oauth2/jwks").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

/// The JWKS key with this `kid`.
fn key_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"))
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// Verifies an ID token's signature with the JWKS, and `aud` (and `iss`, when given).
fn verify(id_token: &str, jwks: &Value, audience: &str, issuer: Option<&str>) -> Value {
    let header = decode_header(id_token).expect("ID token header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("kid in the ID token header");
    let jwk = key_for(jwks, &kid);
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .expect("RSA key from the JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    if let Some(issuer) = issuer {
        validation.set_issuer(&[issuer]);
    }
    decode::<Value>(id_token, &key, &validation)
        .unwrap_or_else(|e| panic!("ID token rejected: {e}"))
        .claims
}

fn kid_of(id_token: &str) -> String {
    decode_header(id_token).unwrap().kid.expect("kid")
}

#[tokio::test]
async fn discovery_describes_this_server_at_both_paths() {
    let server = TestServer::start().await;
    let client = server.client();
    let standard = client.get("/.well-known/openid-configuration").await;
    let anypoint = client
        .get("/accounts/api/v2/oauth2/.well-known/openid-configuration")
        .await;
    assert_eq!(standard.status, 200, "{}", standard.body);
    assert_eq!(anypoint.status, 200, "{}", anypoint.body);
    let meta = standard.json();
    assert_eq!(meta, anypoint.json());
    let base = server.base.as_str();
    assert_eq!(meta["issuer"], base);
    for (name, path) in [
        (
            "authorization_endpoint",
            "/accounts/api/v2/oauth2/authorize",
        ),
        ("token_endpoint", "/accounts/api/v2/oauth2/token"),
        ("userinfo_endpoint", "/accounts/api/v2/oauth2/userinfo"),
        ("jwks_uri", "/accounts/api/v2/oauth2/jwks"),
    ] {
        assert_eq!(meta[name], format!("{base}{path}"), "{name}");
    }
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    let algs = meta["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("RS256")), "{algs:?}");
    assert!(!algs.contains(&json!("none")), "{algs:?}");
    let scopes = meta["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&json!("openid")), "{scopes:?}");
    // Every advertised endpoint answers on this server.
    let jwks_path = meta["jwks_uri"].as_str().unwrap().replace(base, "");
    assert_eq!(client.get(&jwks_path).await.status, 200);
}

#[tokio::test]
async fn the_jwks_publishes_public_members_only() {
    let server = TestServer::start().await;
    let jwks = jwks(&server).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty(), "{jwks}");
    for key in keys {
        assert_eq!(key["kty"], "RSA", "{key}");
        assert!(key["n"].is_string() && key["e"].is_string(), "{key}");
        assert!(key["kid"].is_string(), "{key}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
        if let Some(alg) = key.get("alg") {
            assert_eq!(alg, "RS256", "{key}");
        }
        let modulus = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
        assert!(modulus.len() >= 256, "RSA key under 2048 bits: {key}");
    }
    assert_eq!(kids(&jwks).len(), keys.len(), "kids must be unique: {jwks}");
}

#[tokio::test]
async fn the_id_token_verifies_with_the_jwks_and_binds_nonce_and_access_token() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "Relying Party", CALLBACK).await;
    let tokens = code_tokens(&server, &app, "openid profile email").await;
    let id_token = field(&tokens, "id_token");
    let claims = verify(
        &id_token,
        &jwks(&server).await,
        &app.client_id,
        Some(&server.base),
    );
    assert_eq!(claims["iss"], server.base);
    assert_eq!(claims["aud"], app.client_id);
    assert_eq!(claims["sub"], user_id(&admin).await);
    assert_eq!(claims["nonce"], "nonce-1", "the request's nonce: {claims}");
    assert_eq!(claims["preferred_username"], ADMIN_USERNAME);
    assert!(claims["name"].is_string(), "profile claims: {claims}");
    let (iat, exp, auth_time) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
        claims["auth_time"].as_i64().expect("auth_time"),
    );
    assert!(exp > iat && auth_time <= iat, "{claims}");
    let digest = Sha256::digest(field(&tokens, "access_token").as_bytes());
    assert_eq!(
        claims["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest[..16]),
        "at_hash: {claims}"
    );

    // A changed payload no longer verifies.
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut forged = claims.clone();
    forged["sub"] = json!("someone-else");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    let jwk = key_for(&jwks(&server).await, &kid_of(&id_token)).clone();
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&app.client_id]);
    assert!(decode::<Value>(&forged, &key, &validation).is_err());
}

/// UserInfo by every means a client may use.
async fn userinfo_ways(client: &Client, token: &str) -> Vec<(&'static str, u16, String, Value)> {
    let get = client.with_token(token).get(USERINFO).await;
    let post_header = client
        .run(
            client
                .raw(Method::POST, USERINFO)
                .header("authorization", format!("Bearer {token}")),
        )
        .await;
    let post_form = client
        .run(
            client
                .raw(Method::POST, USERINFO)
                .form(&[("access_token", token)]),
        )
        .await;
    [
        ("GET", get),
        ("POST header", post_header),
        ("POST form", post_form),
    ]
    .into_iter()
    .map(|(how, r)| {
        let auth = r.header("www-authenticate").unwrap_or_default();
        let body = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        (how, r.status, auth, body)
    })
    .collect()
}

#[tokio::test]
async fn userinfo_answers_tokens_granted_openid_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let app = create_user_app(&admin, "UserInfo", CALLBACK).await;
    let client = server.client();
    let admin_id = user_id(&admin).await;

    let with_openid = code_tokens(&server, &app, "openid profile").await;
    let token = field(&with_openid, "access_token");
    for (how, status, _, body) in userinfo_ways(&client, &token).await {
        assert_eq!(status, 200, "{how}: {body}");
        assert_eq!(body["sub"], admin_id, "{how}: {body}");
        assert_eq!(body["preferred_username"], ADMIN_USERNAME, "{how}: {body}");
        assert!(body["name"].is_string(), "{how}: profile claims: {body}");
        assert!(
            body.get("email").is_none(),
            "{how}: email not granted: {body}"
        );
    }
    // The token in two places at once.
    let both = client
        .run(
            client
                .raw(Method::POST, USERINFO)
                .header("authorization", format!("Bearer {token}"))
                .form(&[("access_token", token.as_str())]),
        )
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    assert_eq!(client.get(USERINFO).await.status, 401);

    // Tokens without openid: an app token for a user, a machine token, a login token.
    let without = field(&code_tokens(&server, &app, "profile").await, "access_token");
    let machine: App = create_app(&admin, "Machine").await;
    let machine = app_token(&client, &machine).await;
    let login = admin.token.clone().unwrap();
    for (what, token) in [
        ("profile only", without),
        ("client_credentials", machine),
        ("login", login),
    ] {
        for (how, status, auth, body) in userinfo_ways(&client, &token).await {
            assert_eq!(status, 403, "{what} {how}: {body}");
            assert!(
                auth.contains("insufficient_scope"),
                "{what} {how}: WWW-Authenticate {auth:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_rotated_key_signs_after_a_restart_and_the_old_one_stays_published() {
    let mut server = TestServer::start().await;
    let admin = server.admin().await;
    let app: UserApp = create_user_app(&admin, "Rotation RP", CALLBACK).await;
    let before = code_tokens(&server, &app, "openid").await;
    let old_token = field(&before, "id_token");
    let old_kid = kid_of(&old_token);
    let old_jwks = jwks(&server).await;
    assert!(kids(&old_jwks).contains(&old_kid));

    let out = server
        .command()
        .args(["keys", "rotate"])
        .stdin(Stdio::null())
        .output()
        .expect("run keyhouse keys rotate");
    assert!(out.status.success(), "keys rotate: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let new_kid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("new signing key: "))
        .unwrap_or_else(|| panic!("no new kid in {stdout:?}"))
        .trim()
        .to_owned();
    assert_ne!(new_kid, old_kid);

    server.restart().await;
    let jwks = jwks(&server).await;
    let published = kids(&jwks);
    assert!(published.contains(&old_kid), "old kid dropped: {jwks}");
    assert!(published.contains(&new_kid), "new kid missing: {jwks}");
    assert_eq!(published.len(), 2, "{jwks}");

    let after = code_tokens(&server, &app, "openid").await;
    let new_token = field(&after, "id_token");
    assert_eq!(kid_of(&new_token), new_kid, "the new key signs");
    verify(&new_token, &jwks, &app.client_id, Some(&server.base));
    // ID tokens signed before the rotation still verify.
    verify(&old_token, &jwks, &app.client_id, None);
}
