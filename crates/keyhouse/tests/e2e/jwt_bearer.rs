//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523,
//! docs/user-grants.md): assertions signed with the app's registered key are
//! accepted once; everything else is `invalid_grant`, and unknown subjects are
//! never provisioned.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

use crate::support::grants::{
    assert_token_error, create_app_with, field, try_create_app, JWT_BEARER,
};
use crate::support::http::Resp;
use crate::support::user_apps::{token_request, user_id, UserApp, ADMIN_USERNAME};
use crate::support::{Client, TestServer};

/// An RSA key pair and its PEMs.
struct Key {
    rsa: RsaPrivateKey,
    private_pem: String,
    public_pem: String,
}

impl Key {
    fn new(bits: usize) -> Self {
        let rsa = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("RSA key");
        let private_pem = rsa.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public_pem = rsa
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        Self {
            rsa,
            private_pem,
            public_pem,
        }
    }

    fn encoding(&self) -> EncodingKey {
        EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).expect("encoding key")
    }

    /// The public key as a JWK (for a `jwk` header).
    fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(self.rsa.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.rsa.e().to_bytes_be()),
        })
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn token_endpoint(server: &TestServer) -> String {
    format!("{}/accounts/api/v2/oauth2/token", server.base)
}

/// Valid claims for `app` about `sub`, with a fresh `jti`.
fn claims(server: &TestServer, app: &UserApp, sub: &str) -> Value {
    json!({
        "iss": app.client_id,
        "aud": token_endpoint(server),
        "sub": sub,
        "iat": now(),
        "exp": now() + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// A JWT with exactly this header, signed with `key` under `alg`.
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).expect("sign");
    format!("{input}.{signature}")
}

/// An RS256 assertion signed with `key`.
fn sign(claims: &Value, key: &Key) -> String {
    sign_raw(
        &json!({"alg": "RS256", "typ": "JWT"}),
        claims,
        &key.encoding(),
        Algorithm::RS256,
    )
}

/// A jwt-bearer app with `key`'s public half and the scopes `openid full`.
async fn jwt_app(admin: &Client, key: &Key) -> UserApp {
    create_app_with(
        admin,
        json!({
            "grant_types": [JWT_BEARER],
            "public_keys": [key.public_pem],
            "scopes": ["openid", "full"],
        }),
    )
    .await
}

async fn present(client: &Client, app: &UserApp, assertion: &str) -> Resp {
    token_request(
        client,
        app,
        &[("grant_type", JWT_BEARER), ("assertion", assertion)],
    )
    .await
}

#[tokio::test]
async fn a_signed_assertion_gets_a_token_for_its_subject() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let key = Key::new(2048);
    let app = jwt_app(&admin, &key).await;
    let client = server.client();
    let admin_id = user_id(&admin).await;
    let org = admin.root_org_id().await;

    for sub in [ADMIN_USERNAME, "v2|idp|admin|First|Last|a@b.c|"] {
        let resp = present(&client, &app, &sign(&claims(&server, &app, sub), &key)).await;
        assert_eq!(resp.status, 200, "sub {sub}: {}", resp.body);
        assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
        let json = resp.json();
        let mut scopes: Vec<&str> = json["scope"].as_str().unwrap().split(' ').collect();
        scopes.sort_unstable();
        assert_eq!(scopes, ["full", "openid"], "{json}");
        assert!(json["id_token"].is_string(), "{json}");
        let token = client.with_token(&field(&json, "access_token"));
        let me = token.get("/accounts/api/users/me").await;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.json()["id"], admin_id);
        let envs = token
            .get(&format!("/accounts/api/organizations/{org}/environments"))
            .await;
        assert_eq!(envs.status, 200, "full lists environments: {}", envs.body);
    }

    // `aud` may be an array naming the token endpoint among others.
    let mut listed = claims(&server, &app, ADMIN_USERNAME);
    listed["aud"] = json!(["https://other.example", token_endpoint(&server)]);
    let resp = present(&client, &app, &sign(&listed, &key)).await;
    assert_eq!(resp.status, 200, "aud array: {}", resp.body);

    // The issuer is an accepted audience too, and `scope` narrows.
    let mut by_issuer = claims(&server, &app, ADMIN_USERNAME);
    by_issuer["aud"] = json!(server.base);
    let resp = token_request(
        &client,
        &app,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &sign(&by_issuer, &key)),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["scope"], "openid");
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let key = Key::new(2048);
    let app = jwt_app(&admin, &key).await;
    let client = server.client();
    let claims = claims(&server, &app, ADMIN_USERNAME);
    let assertion = sign(&claims, &key);
    let first = present(&client, &app, &assertion).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = present(&client, &app, &assertion).await;
    assert_token_error(&again, 400, "invalid_grant");
    // Another assertion with the same jti.
    let mut same_jti = claims.clone();
    same_jti["exp"] = json!(now() + 200);
    let resp = present(&client, &app, &sign(&same_jti, &key)).await;
    assert_token_error(&resp, 400, "invalid_grant");
}

#[tokio::test]
async fn assertions_that_fail_a_check_are_invalid_grant() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let key = Key::new(2048);
    let foreign = Key::new(2048);
    let app = jwt_app(&admin, &key).await;
    let client = server.client();
    let valid = || claims(&server, &app, ADMIN_USERNAME);
    let with = |name: &str, value: Value| {
        let mut c = valid();
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = valid();
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let mut expired = with("exp", json!(now() - 600));
    expired["iat"] = json!(now() - 900);
    let cases: Vec<(&str, String)> = vec![
        ("expired", sign(&expired, &key)),
        (
            "exp a year ahead",
            sign(&with("exp", json!(now() + 365 * 24 * 3600)), &key),
        ),
        ("nbf ahead", sign(&with("nbf", json!(now() + 600)), &key)),
        ("iat ahead", sign(&with("iat", json!(now() + 600)), &key)),
        (
            "wrong aud",
            sign(
                &with(
                    "aud",
                    json!("https://elsewhere.example/accounts/api/v2/oauth2/token"),
                ),
                &key,
            ),
        ),
        ("wrong iss", sign(&with("iss", json!("another-app")), &key)),
        ("no exp", sign(&without("exp"), &key)),
        ("no jti", sign(&without("jti"), &key)),
        ("no sub", sign(&without("sub"), &key)),
        (
            "malformed Anypoint sub",
            sign(&with("sub", json!("v2||admin|A|B|c@d.e|")), &key),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
                URL_SAFE_NO_PAD.encode(valid().to_string())
            ),
        ),
        (
            "HS256 keyed with the registered PEM",
            sign_raw(
                &json!({"alg": "HS256", "typ": "JWT"}),
                &valid(),
                &EncodingKey::from_secret(key.public_pem.as_bytes()),
                Algorithm::HS256,
            ),
        ),
        ("a foreign key", sign(&valid(), &foreign)),
        (
            "a foreign key named in a jwk header",
            sign_raw(
                &json!({"alg": "RS256", "typ": "JWT", "jwk": foreign.jwk()}),
                &valid(),
                &foreign.encoding(),
                Algorithm::RS256,
            ),
        ),
        (
            "a crit header",
            sign_raw(
                &json!({"alg": "RS256", "typ": "JWT", "crit": ["exp"]}),
                &valid(),
                &key.encoding(),
                Algorithm::RS256,
            ),
        ),
        ("a tampered payload", {
            let good = sign(&valid(), &key);
            let parts: Vec<&str> = good.split('.').collect();
            let other = URL_SAFE_NO_PAD.encode(with("sub", json!("someone-else")).to_string());
            format!("{}.{}.{}", parts[0], other, parts[2])
        }),
        ("not a JWT", "not-a-jwt".to_owned()),
        (
            "over 8 KiB",
            sign(&with("padding", json!("x".repeat(9000))), &key),
        ),
    ];
    for (what, assertion) in cases {
        let resp = present(&client, &app, &assertion).await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.body);
        assert_eq!(
            resp.json()["error"],
            "invalid_grant",
            "{what}: {}",
            resp.body
        );
    }
    // The app still works with a good assertion.
    let ok = present(&client, &app, &sign(&valid(), &key)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn unknown_subjects_are_refused_and_never_provisioned() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let key = Key::new(2048);
    let app = jwt_app(&admin, &key).await;
    server.second_tenant("Elsewhere", "outsider").await;
    let client = server.client();
    for sub in [
        "ghost",
        "v2|idp|ghost|Gh|Ost|ghost@example.com|",
        "ghost",
        "outsider",
    ] {
        let resp = present(&client, &app, &sign(&claims(&server, &app, sub), &key)).await;
        assert_token_error(&resp, 400, "invalid_grant");
    }
    // Still nobody called ghost.
    let owner = admin.root_org_id().await;
    let created = server.admin_command(&[
        "create-user",
        "--org",
        &owner,
        "--username",
        "ghost",
        "--password",
        "a-long-enough-password",
    ]);
    assert!(
        created.status.success(),
        "ghost exists after the assertions: {created:?}"
    );
}

#[tokio::test]
async fn a_forged_assertion_does_not_use_up_its_jti() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let key = Key::new(2048);
    let forger = Key::new(2048);
    let app = jwt_app(&admin, &key).await;
    let client = server.client();
    let claims = claims(&server, &app, ADMIN_USERNAME);
    let forged = present(&client, &app, &sign(&claims, &forger)).await;
    assert_token_error(&forged, 400, "invalid_grant");
    let genuine = present(&client, &app, &sign(&claims, &key)).await;
    assert_eq!(
        genuine.status, 200,
        "the forgery burned the jti: {}",
        genuine.body
    );
}

#[tokio::test]
async fn registration_refuses_missing_private_and_weak_keys() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let good = Key::new(2048);
    let weak = Key::new(1024);
    let pkcs1_private = good.rsa.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
    let cases: Vec<(&str, Value)> = vec![
        ("no key", json!([])),
        ("a PKCS#8 private key", json!([good.private_pem])),
        ("a PKCS#1 private key", json!([pkcs1_private])),
        ("an RSA 1024 key", json!([weak.public_pem])),
        (
            "not a key",
            json!(["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]),
        ),
    ];
    for (what, keys) in cases {
        let resp = try_create_app(
            &admin,
            json!({"grant_types": [JWT_BEARER], "public_keys": keys, "scopes": ["openid"]}),
        )
        .await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.body);
        resp.assert_error(400);
    }
    let app = jwt_app(&admin, &good).await;
    // Nor can a registered app be left without a key, or given a private one.
    for keys in [json!([]), json!([good.private_pem])] {
        let resp = admin
            .patch(
                &format!("/accounts/api/connectedApplications/{}", app.client_id),
                json!({"public_keys": keys}),
            )
            .await;
        resp.assert_error(400);
    }
}

#[tokio::test]
async fn ec_and_ed25519_keys_sign_with_their_own_algorithms() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let ed25519 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let app = create_app_with(
        &admin,
        json!({
            "grant_types": [JWT_BEARER],
            "public_keys": [p256.public_key_pem(), p384.public_key_pem(), ed25519.public_key_pem()],
            "scopes": ["openid"],
        }),
    )
    .await;
    let client = server.client();
    let p256_key = EncodingKey::from_ec_pem(p256.serialize_pem().as_bytes()).unwrap();
    let p384_key = EncodingKey::from_ec_pem(p384.serialize_pem().as_bytes()).unwrap();
    let ed_key = EncodingKey::from_ed_pem(ed25519.serialize_pem().as_bytes()).unwrap();
    for (what, key, alg, name) in [
        ("ES256 with P-256", &p256_key, Algorithm::ES256, "ES256"),
        ("ES384 with P-384", &p384_key, Algorithm::ES384, "ES384"),
        ("EdDSA with Ed25519", &ed_key, Algorithm::EdDSA, "EdDSA"),
    ] {
        let assertion = sign_raw(
            &json!({"alg": name, "typ": "JWT"}),
            &claims(&server, &app, ADMIN_USERNAME),
            key,
            alg,
        );
        let resp = present(&client, &app, &assertion).await;
        assert_eq!(resp.status, 200, "{what}: {}", resp.body);
    }

    // A header that names another algorithm than the signature's, and HMAC
    // keyed with a registered PEM.
    let mislabelled = |header_alg: &str, key: &EncodingKey, alg: Algorithm| {
        sign_raw(
            &json!({"alg": header_alg, "typ": "JWT"}),
            &claims(&server, &app, ADMIN_USERNAME),
            key,
            alg,
        )
    };
    for (what, assertion) in [
        (
            "ES256 signature labelled ES384",
            mislabelled("ES384", &p256_key, Algorithm::ES256),
        ),
        (
            "ES256 signature labelled RS256",
            mislabelled("RS256", &p256_key, Algorithm::ES256),
        ),
        (
            "EdDSA signature labelled ES256",
            mislabelled("ES256", &ed_key, Algorithm::EdDSA),
        ),
        (
            "HS256 keyed with the EC PEM",
            mislabelled(
                "HS256",
                &EncodingKey::from_secret(p256.public_key_pem().as_bytes()),
                Algorithm::HS256,
            ),
        ),
    ] {
        let resp = present(&client, &app, &assertion).await;
        assert_token_error(&resp, 400, "invalid_grant");
        assert!(resp.json().get("access_token").is_none(), "{what}");
    }
}
