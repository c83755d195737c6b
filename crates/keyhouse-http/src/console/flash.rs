//! Showing a new client secret exactly once across a redirect (post, then
//! redirect, then get): the secret rides in a short-lived cookie, sealed with
//! a key only this browser session has (its session cookie), bound to the
//! app, and deleted by the page that shows it. A reload finds no cookie and
//! shows no secret; nothing about the secret is stored on the server.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::pages::cookie_value;

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// The cookie's name (`__Host-` on https, like the session cookie).
fn name(secure: bool) -> &'static str {
    if secure {
        "__Host-keyhouse_console_secret"
    } else {
        "keyhouse_console_secret"
    }
}

fn mac(session: &str, label: &str, client_id: &str, nonce: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(session.as_bytes()).ok()?;
    mac.update(label.as_bytes());
    mac.update(b"\n");
    mac.update(client_id.as_bytes());
    mac.update(b"\n");
    mac.update(nonce);
    Some(mac)
}

/// HMAC-SHA256 in counter mode: a keystream for `len` bytes.
fn keystream(session: &str, client_id: &str, nonce: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut block = mac(session, "console-secret-stream", client_id, nonce)?;
        block.update(&counter.to_be_bytes());
        out.extend_from_slice(&block.finalize().into_bytes());
        counter = counter.checked_add(1)?;
    }
    out.truncate(len);
    Some(out)
}

fn tag(session: &str, client_id: &str, nonce: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let mut tag = mac(session, "console-secret-tag", client_id, nonce)?;
    tag.update(sealed);
    let mut bytes = tag.finalize().into_bytes().to_vec();
    bytes.truncate(TAG_LEN);
    Some(bytes)
}

/// The sealed form of `secret` for this session and app.
pub(crate) fn seal(session: &str, client_id: &str, secret: &str) -> Option<String> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let stream = keystream(session, client_id, &nonce, secret.len())?;
    let sealed: Vec<u8> = secret.bytes().zip(stream).map(|(a, b)| a ^ b).collect();
    let tag = tag(session, client_id, &nonce, &sealed)?;
    let mut all = nonce.to_vec();
    all.extend_from_slice(&tag);
    all.extend_from_slice(&sealed);
    Some(URL_SAFE_NO_PAD.encode(all))
}

/// The secret sealed by [`seal`], if it was sealed for this session and app.
pub(crate) fn open(session: &str, client_id: &str, value: &str) -> Option<String> {
    let all = URL_SAFE_NO_PAD.decode(value).ok()?;
    if all.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, rest) = all.split_at(NONCE_LEN);
    let (presented, sealed) = rest.split_at(TAG_LEN);
    let expected = tag(session, client_id, nonce, sealed)?;
    if !bool::from(expected.as_slice().ct_eq(presented)) {
        return None;
    }
    let stream = keystream(session, client_id, nonce, sealed.len())?;
    String::from_utf8(sealed.iter().zip(stream).map(|(a, b)| a ^ b).collect()).ok()
}

fn cookie_header(secure: bool, value: &str, delete: bool) -> Option<HeaderValue> {
    let max_age_secs = if delete { 0 } else { 300 };
    crate::pages::Cookies { secure }.build(
        name(secure),
        value,
        max_age_secs,
        cookie::SameSite::Strict,
    )
}

/// Adds the sealed secret to a response (the redirect to the app's page).
pub(crate) fn attach(
    response: &mut Response,
    secure: bool,
    session: &str,
    client_id: &str,
    secret: &str,
) {
    if let Some(value) =
        seal(session, client_id, secret).and_then(|v| cookie_header(secure, &v, false))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The secret waiting for this app's page, if any.
pub(crate) fn take(
    headers: &HeaderMap,
    secure: bool,
    session: &str,
    client_id: &str,
) -> Option<String> {
    let value = cookie_value(headers, name(secure))?;
    open(session, client_id, &value)
}

/// Deletes the cookie (on every page that could have shown it).
pub(crate) fn clear(response: &mut Response, headers: &HeaderMap, secure: bool) {
    if cookie_value(headers, name(secure)).is_none() {
        return;
    }
    if let Some(value) = cookie_header(secure, "", true) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::{open, seal};

    #[test]
    fn a_sealed_secret_opens_only_for_its_session_and_app() {
        let secret = "3f9A0b7C1d2E3f4A5b6C7d8E9f0A1b2C";
        let sealed = seal("session-1", "app-1", secret).unwrap();
        assert!(!sealed.contains(secret));
        assert_eq!(open("session-1", "app-1", &sealed).as_deref(), Some(secret));
        assert_eq!(open("session-2", "app-1", &sealed), None);
        assert_eq!(open("session-1", "app-2", &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open("session-1", "app-1", &String::from_utf8(tampered).unwrap()),
            None
        );
        assert_eq!(open("session-1", "app-1", "short"), None);
        // A fresh nonce each time: two seals of one secret differ.
        assert_ne!(sealed, seal("session-1", "app-1", secret).unwrap());
    }
}
