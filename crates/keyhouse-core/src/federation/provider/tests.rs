//! Unit tests of the parent module.

use super::*;

fn input() -> ProviderInput {
    ProviderInput {
        name: Some(" Corp SSO ".into()),
        kind: Some("openid".into()),
        issuer: Some("https://idp.example.com/realms/a".into()),
        client_id: Some("keyhouse".into()),
        client_secret: Some("s3cret".into()),
        ..ProviderInput::default()
    }
}

#[test]
fn issuers_are_https_or_loopback_http() {
    assert!(parse_issuer("https://idp.example.com").is_ok());
    assert!(parse_issuer("https://idp.example.com/").is_ok());
    assert!(parse_issuer("http://127.0.0.1:8080").is_ok());
    assert!(parse_issuer("http://localhost:8080/x").is_ok());
    assert!(parse_issuer("http://[::1]:8080").is_ok());
    assert!(parse_issuer("http://idp.example.com").is_err());
    assert!(parse_issuer("https://idp.example.com/?a=b").is_err());
    assert!(parse_issuer("https://u:p@idp.example.com").is_err());
    assert!(parse_issuer("ftp://idp.example.com").is_err());
    assert!(parse_issuer("not a url").is_err());
    assert_eq!(
        parse_issuer(" https://idp.example.com/ ").unwrap(),
        "https://idp.example.com/"
    );
}

#[test]
fn create_fills_defaults_and_keeps_the_secret_apart() {
    let org = OrgId::generate();
    let p = input().create(org, Timestamp(5)).unwrap();
    assert_eq!(p.name, "Corp SSO");
    assert_eq!(p.oidc().unwrap().scopes, ["openid", "profile", "email"]);
    assert_eq!(p.oidc().unwrap().claims, ClaimMapping::default());
    assert_eq!(
        p.secret.as_ref().map(ProviderSecret::expose),
        Some("s3cret")
    );
    let stored = p.protocol.config_json();
    assert!(!stored.to_string().contains("s3cret"));
    assert_eq!(Protocol::decode("oidc", stored).unwrap(), p.protocol);
    assert!(Protocol::decode("saml", serde_json::json!({})).is_err());
    assert!(!format!("{p:?}").contains("s3cret"));
    assert!(!format!("{:?}", input()).contains("s3cret"));
}

#[test]
fn create_requires_the_credentials() {
    let org = OrgId::generate();
    let mut missing = input();
    missing.client_secret = None;
    assert!(missing.create(org, Timestamp(0)).is_err());
    let mut saml = input();
    saml.kind = Some("saml".into());
    assert!(saml.create(org, Timestamp(0)).is_err());
}

#[test]
fn apply_changes_only_what_is_given() {
    let org = OrgId::generate();
    let p = input().create(org, Timestamp(5)).unwrap();
    let change = ProviderInput {
        scopes: Some(vec!["email groups".into()]),
        username_claim: Some("email".into()),
        ..ProviderInput::default()
    };
    let q = change.apply(&p, Timestamp(9)).unwrap();
    assert_eq!(q.oidc().unwrap().scopes, ["openid", "email", "groups"]);
    assert_eq!(q.oidc().unwrap().claims.username, "email");
    assert_eq!(q.oidc().unwrap().issuer, p.oidc().unwrap().issuer);
    assert_eq!(q.secret, p.secret);
    assert_eq!(q.updated_at, Timestamp(9));
    let reset = ProviderInput {
        username_claim: Some(String::new()),
        ..ProviderInput::default()
    };
    let r = reset.apply(&q, Timestamp(10)).unwrap();
    assert_eq!(r.oidc().unwrap().claims.username, "preferred_username");
    let bad = ProviderInput {
        scopes: Some(vec!["a\"b".into()]),
        ..ProviderInput::default()
    };
    assert!(bad.apply(&q, Timestamp(11)).is_err());
}

#[test]
fn login_domains() {
    assert_eq!(parse_login_domain(" Acme-Corp ").unwrap(), "acme-corp");
    assert!(parse_login_domain("-acme").is_err());
    assert!(parse_login_domain("ac me").is_err());
    assert!(parse_login_domain("").is_err());
    assert!(parse_login_domain(&"a".repeat(64)).is_err());
}

#[test]
fn saml_group_rules_decide_the_role() {
    use crate::access::Role;
    let settings = SamlSettings {
        issuer: "https://idp".into(),
        sso_url: None,
        slo_url: None,
        certificates: Vec::new(),
        audience: None,
        claims: SamlSettings::default_claims(),
        group_attribute: Some("groups".into()),
        group_roles: vec![GroupRole {
            group: "admins".into(),
            role: "admin".into(),
        }],
    };
    assert_eq!(
        settings.role_for(&["x".into(), "admins".into()]),
        Some(Role::Admin)
    );
    assert_eq!(settings.role_for(&["x".into()]), Some(Role::Member));
    let unmapped = SamlSettings {
        group_roles: Vec::new(),
        ..settings
    };
    assert_eq!(unmapped.role_for(&["admins".into()]), None);
}
