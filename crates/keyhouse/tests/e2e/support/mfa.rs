//! Multi-factor authentication from the outside (docs/mfa.md): an RFC 6238
//! implementation of the tests' own (HMAC-SHA-1 from the `hmac` and `sha1`
//! crates, base32 decoded by hand — nothing shared with the server's
//! `totp-rs`), and helpers that drive the MFA pages like a browser.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::pages::{Agent, Page, LOGIN_PATH};
use super::ADMIN_PASSWORD;

/// The code step of a sign-in.
pub const VERIFY_PATH: &str = "/accounts/authorize/mfa";
/// Enrollment and the user's MFA settings.
pub const ENROLL_PATH: &str = "/accounts/mfa";
/// Turning MFA off.
pub const DISABLE_PATH: &str = "/accounts/mfa/disable";

/// RFC 6238 TOTP with HMAC-SHA-1: the `digits`-digit code of time step `step`
/// (RFC 4226 §5.3 dynamic truncation of HMAC(secret, step as 8 big-endian bytes)).
pub fn totp_sha1(secret: &[u8], step: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = (u32::from(hash[offset] & 0x7f) << 24)
        | (u32::from(hash[offset + 1]) << 16)
        | (u32::from(hash[offset + 2]) << 8)
        | u32::from(hash[offset + 3]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

/// RFC 4648 base32 (upper or lower case, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base32: {text}")) as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// The current RFC 6238 time step (30 s) by this machine's clock.
pub fn current_step() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        / 30
}

/// The 6-digit code of `step` for a base32 `secret`.
pub fn code_at(secret: &[u8], step: u64) -> String {
    totp_sha1(secret, step, 6)
}

/// A 6-digit code that is none of the valid ones around now.
pub fn wrong_code(secret: &[u8]) -> String {
    let now = current_step();
    let valid: Vec<String> = (now - 2..=now + 2).map(|s| code_at(secret, s)).collect();
    ["000000", "111111", "222222"]
        .iter()
        .map(|c| (*c).to_owned())
        .find(|c| !valid.contains(c))
        .expect("three codes cannot all be valid")
}

/// The text inside the element with this `id` (up to its first child tag).
pub fn text_of_id(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(super::pages::decode_entities(html[start..end].trim()))
}

/// The recovery codes listed on the page (`li.recovery-code`).
pub fn recovery_codes(page: &Page) -> Vec<String> {
    page.body
        .split("<li class=\"recovery-code\">")
        .skip(1)
        .map(|rest| {
            let text = rest.split("</li>").next().unwrap_or_default();
            text.replace("<code>", "")
                .replace("</code>", "")
                .trim()
                .to_owned()
        })
        .collect()
}

/// A user who just enrolled: their secret and recovery codes, and the step
/// the confirming code belonged to (already used).
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
    pub used_step: u64,
}

/// Signs the agent in on the plain sign-in page (no authorization request):
/// the answer to the form post.
pub async fn sign_in_plain(agent: &Agent, username: &str) -> Page {
    let page = agent.get("/accounts/authorizations").await;
    assert!(page.has_id("sign-in-form"), "{}", page.body);
    agent
        .post_form(
            LOGIN_PATH,
            &[
                ("username", username),
                ("password", ADMIN_PASSWORD),
                ("csrf", &page.input("csrf")),
                ("request", ""),
            ],
        )
        .await
}

/// Completes the setup page `page` (which must show the QR code and the key)
/// with a code computed from the key; returns the recovery-codes page.
pub async fn confirm_setup(agent: &Agent, page: &Page) -> (Enrollment, Page) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has_id("mfa-qr"), "no QR code: {}", page.body);
    assert!(page.body.contains("<svg"), "the QR code is inline SVG");
    assert!(page.has_id("mfa-confirm-form"), "{}", page.body);
    let key = text_of_id(&page.body, "mfa-secret").expect("#mfa-secret");
    let secret = base32_decode(&key);
    assert_eq!(secret.len(), 20, "a 160-bit secret: {key}");
    let step = current_step();
    let done = agent
        .post_form(
            ENROLL_PATH,
            &[
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
                ("code", &code_at(&secret, step)),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "confirming the setup: {}", done.body);
    let codes = recovery_codes(&done);
    assert_eq!(codes.len(), 10, "{}", done.body);
    (
        Enrollment {
            secret,
            recovery_codes: codes,
            used_step: step,
        },
        done,
    )
}

/// Signs `username` in with a fresh browser and enrolls them from `/accounts/mfa`.
pub async fn enroll(agent: &Agent, username: &str) -> Enrollment {
    let signed_in = sign_in_plain(agent, username).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let page = agent.get(ENROLL_PATH).await;
    confirm_setup(agent, &page).await.0
}

/// Posts `code` on the code page `page`; the answer.
pub async fn submit_code(agent: &Agent, page: &Page, code: &str) -> Page {
    assert!(page.has_id("mfa-form"), "not the code page: {}", page.body);
    agent
        .post_form(
            VERIFY_PATH,
            &[
                ("csrf", &page.input("csrf")),
                ("request", &page.input("request")),
                ("code", code),
            ],
        )
        .await
}
