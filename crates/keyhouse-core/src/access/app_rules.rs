//! Validation of connected-app fields (Anypoint reference §5, RFC 9700 / RFC 8252
//! for redirect URIs): everything is checked before anything is written.

use url::{Host, Url};

use super::connected_app::{GrantType, APP_NAME_MAX_CHARS, LIST_FIELD_MAX, URI_MAX_CHARS};
use super::public_key::parse_public_key_pem;
use crate::error::CoreError;
use crate::ids::truncate;
use crate::oauth::scope::{lookup, ScopeContext};

/// Shortest client secret an admin may choose (CA-07): 32 characters.
pub const CHOSEN_SECRET_MIN_CHARS: usize = 32;

fn invalid(msg: impl Into<String>) -> CoreError {
    CoreError::Validation(msg.into())
}

/// `client_name`: trimmed, 1–255 printable characters.
pub fn parse_app_name(raw: &str) -> Result<String, CoreError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("client_name must not be empty"));
    }
    if name.chars().count() > APP_NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "client_name must be at most {APP_NAME_MAX_CHARS} printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// `grant_types`: known, no duplicates, and either the app acts on its own
/// behalf (`client_credentials` alone) or on behalf of users (Anypoint's two kinds).
pub fn parse_grant_types(raw: &[String]) -> Result<Vec<GrantType>, CoreError> {
    if raw.is_empty() {
        return Err(invalid("grant_types must name at least one grant type"));
    }
    let mut grants = Vec::new();
    for name in raw {
        let grant = GrantType::parse(name)
            .ok_or_else(|| invalid(format!("Unknown grant type '{}'", truncate(name))))?;
        if grants.contains(&grant) {
            return Err(invalid(format!("Grant type '{name}' is listed twice")));
        }
        grants.push(grant);
    }
    if grants.contains(&GrantType::ClientCredentials) && grants.len() > 1 {
        return Err(invalid(
            "client_credentials apps act on their own behalf and cannot also use user grant types",
        ));
    }
    if grants == [GrantType::RefreshToken] {
        return Err(invalid(
            "refresh_token must come with authorization_code, password or the JWT bearer grant",
        ));
    }
    Ok(grants)
}

/// A URI we will send people to: absolute, no fragment, `https`, or `http`
/// only on a loopback host (RFC 8252 §7.3).
pub fn parse_web_uri(field: &str, raw: &str) -> Result<String, CoreError> {
    if raw.chars().count() > URI_MAX_CHARS {
        return Err(invalid(format!(
            "{field} is longer than {URI_MAX_CHARS} characters"
        )));
    }
    let url = Url::parse(raw).map_err(|_| {
        invalid(format!(
            "{field} '{}' is not an absolute URI",
            truncate(raw)
        ))
    })?;
    if url.fragment().is_some() {
        return Err(invalid(format!(
            "{field} '{}' must not have a fragment",
            truncate(raw)
        )));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if loopback => Ok(raw.to_owned()),
        "http" => Err(invalid(format!(
            "{field} '{}' must use https (http is allowed only for loopback addresses)",
            truncate(raw)
        ))),
        _ => Err(invalid(format!(
            "{field} '{}' must be an https URI",
            truncate(raw)
        ))),
    }
}

/// `redirect_uris`: each a valid web URI, no duplicates, at most 100.
pub fn parse_redirect_uris(raw: &[String]) -> Result<Vec<String>, CoreError> {
    if raw.len() > LIST_FIELD_MAX {
        return Err(invalid(format!(
            "at most {LIST_FIELD_MAX} redirect_uris are allowed"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for uri in raw {
        let uri = parse_web_uri("redirect_uri", uri)?;
        if out.contains(&uri) {
            return Err(invalid(format!(
                "redirect_uri '{}' is listed twice",
                truncate(&uri)
            )));
        }
        out.push(uri);
    }
    Ok(out)
}

/// `public_keys`: PEM public keys that can verify a JWT-bearer assertion
/// (RFC 7523; docs/user-grants.md): each is checked in full at registration, so
/// a private key, a weak RSA key or an unsupported curve is refused up front.
pub fn parse_public_keys(raw: &[String]) -> Result<Vec<String>, CoreError> {
    if raw.len() > LIST_FIELD_MAX {
        return Err(invalid(format!(
            "at most {LIST_FIELD_MAX} public_keys are allowed"
        )));
    }
    raw.iter()
        .map(|key| {
            let key = key.trim();
            parse_public_key_pem(key)?;
            Ok(key.to_owned())
        })
        .collect()
}

/// `scopes` (without context), for apps acting on behalf of users: known scopes
/// that need no organization or environment.
pub fn parse_flat_scopes(raw: &[String]) -> Result<Vec<String>, CoreError> {
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        let info =
            lookup(name).ok_or_else(|| invalid(format!("Unknown scope '{}'", truncate(name))))?;
        if info.context != ScopeContext::Global {
            return Err(invalid(format!(
                "Scope '{name}' needs an organization context: set it through the scopes endpoint"
            )));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// A client secret chosen by an admin: long enough that a SHA-256 hash of it
/// cannot be brute-forced.
pub fn check_chosen_secret(raw: &str) -> Result<(), CoreError> {
    let len = raw.chars().count();
    if !(CHOSEN_SECRET_MIN_CHARS..=crate::oauth::secret::SECRET_MAX_LEN).contains(&len)
        || raw.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(format!(
            "client_secret must be {CHOSEN_SECRET_MIN_CHARS} to {} printable characters without spaces",
            crate::oauth::secret::SECRET_MAX_LEN
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::access::public_key::tests::{rsa_public_pem, spki_pem, ED25519_SPKI};

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        assert!(parse_web_uri("r", "https://app.example.com/cb").is_ok());
        assert!(parse_web_uri("r", "http://127.0.0.1:8080/cb").is_ok());
        assert!(parse_web_uri("r", "http://localhost/cb").is_ok());
        assert!(parse_web_uri("r", "http://[::1]/cb").is_ok());
        assert!(parse_web_uri("r", "http://app.example.com/cb").is_err());
        assert!(parse_web_uri("r", "https://app.example.com/cb#x").is_err());
        assert!(parse_web_uri("r", "/relative").is_err());
        assert!(parse_web_uri("r", "javascript:alert(1)").is_err());
    }

    #[test]
    fn grant_type_rules() {
        let g =
            |v: &[&str]| parse_grant_types(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(g(&["client_credentials"]).is_ok());
        assert!(g(&["authorization_code", "refresh_token"]).is_ok());
        assert!(g(&["client_credentials", "password"]).is_err());
        assert!(g(&["implicit"]).is_err());
        assert!(g(&[]).is_err());
        assert!(g(&["password", "password"]).is_err());
        assert!(g(&["refresh_token"]).is_err());
    }

    #[test]
    fn flat_scopes_and_secrets() {
        assert!(parse_flat_scopes(&["openid".into(), "profile".into()]).is_ok());
        assert!(parse_flat_scopes(&["view:environment".into()]).is_err());
        assert!(parse_flat_scopes(&["nope".into()]).is_err());
        assert!(check_chosen_secret("short").is_err());
        assert!(check_chosen_secret(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn public_keys_are_checked_in_full() {
        let rsa = rsa_public_pem(2048);
        let ed = spki_pem(ED25519_SPKI, &[3; 32]);
        let keys = parse_public_keys(&[format!("\n{rsa}\n"), ed.clone()]).unwrap();
        assert_eq!(keys, vec![rsa.trim().to_owned(), ed.trim().to_owned()]);

        let weak = parse_public_keys(&[rsa.clone(), rsa_public_pem(1024)]).unwrap_err();
        assert!(weak.to_string().contains("at least 2048 bits"), "{weak}");
        let junk = parse_public_keys(&["ssh-rsa AAAA".into()]).unwrap_err();
        assert!(junk.to_string().contains("BEGIN PUBLIC KEY"), "{junk}");
        let private = parse_public_keys(&[
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
        ])
        .unwrap_err();
        assert!(private.to_string().contains("private keys"), "{private}");
        assert!(parse_public_keys(&vec![rsa; LIST_FIELD_MAX + 1]).is_err());
        assert!(parse_public_keys(&[]).unwrap().is_empty());
    }
}
