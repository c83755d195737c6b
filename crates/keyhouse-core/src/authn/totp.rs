//! Time-based one-time passwords (RFC 6238) and recovery codes: the second
//! factor of multi-factor authentication (issue 6 §5).
//!
//! Parameters are the ones every authenticator app supports without asking:
//! HMAC-SHA-1, 6 digits, 30-second steps, one step of clock drift accepted on
//! either side. The secret is 160 random bits (RFC 4226 §4 recommends 160).
//! The codes themselves come from `totp-rs`; what is Keyhouse's own is the
//! step bookkeeping that refuses a code used before (RFC 6238 §5.2: "the
//! verifier MUST NOT accept the second attempt of the same OTP").

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::time_fmt::Timestamp;

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Length of a time step, seconds.
pub const STEP_SECS: i64 = 30;
/// Steps of clock drift accepted before and after the current one.
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a new secret (160 bits, RFC 4226 §4).
pub const SECRET_BYTES: usize = 20;
/// The issuer authenticator apps show next to the account.
pub const ISSUER: &str = "Keyhouse";
/// Recovery codes handed out at enrollment.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes in a recovery code: 128 bits, so a SHA-256 of it cannot be
/// reversed by trying every code (no slow hash needed).
const RECOVERY_CODE_BYTES: usize = 16;

/// A TOTP shared secret. Both sides must know it, so Keyhouse stores it usable
/// (base32), unlike passwords and tokens. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new random secret (OS-seeded CSPRNG, as for tokens).
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Decodes a stored base32 secret (RFC 4648, no padding); `None` when it
    /// is not base32 or shorter than 128 bits (RFC 4226 §4 minimum).
    pub fn from_base32(encoded: &str) -> Option<Self> {
        let bytes = Secret::Encoded(encoded.to_owned()).to_bytes().ok()?;
        (bytes.len() >= 16).then_some(Self(bytes))
    }

    /// The secret as base32 without padding: what is stored, and what a person
    /// types into an authenticator app that cannot scan the QR code.
    pub fn to_base32(&self) -> String {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(text) => text,
            Secret::Raw(_) => String::new(),
        }
    }

    /// The `otpauth://` URI authenticator apps read from the QR code (Google
    /// Authenticator "Key Uri Format"): label `Keyhouse:<account>`, with the
    /// issuer, algorithm, digits and period spelled out.
    pub fn otpauth_uri(&self, account: &str) -> String {
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            issuer = percent_encode(ISSUER),
            account = percent_encode(account),
            secret = self.to_base32(),
        )
    }

    fn totp(&self) -> TOTP {
        // The checked constructor refuses secrets under 128 bits; ours are 160.
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            SKEW_STEPS.unsigned_abs() as u8,
            STEP_SECS.unsigned_abs(),
            self.0.clone(),
        )
    }

    /// The code for one time step (for tests and the enrollment check).
    pub fn code_at_step(&self, step: i64) -> String {
        let seconds = step.max(0).unsigned_abs() * STEP_SECS.unsigned_abs();
        self.totp().generate(seconds)
    }

    /// Checks a code at `now`: the time step it belongs to when it is valid
    /// (current step ± [`SKEW_STEPS`]), or why not. A code of a step at or
    /// before `last_step` was already used (or is older than one that was):
    /// it is refused as a replay. Every candidate step is compared, in
    /// constant time, so timing does not tell which one matched.
    pub fn check(&self, code: &str, now: Timestamp, last_step: i64) -> CodeCheck {
        let Some(code) = normalize_code(code) else {
            return CodeCheck::Wrong;
        };
        let current = step_of(now);
        let mut fresh: Option<i64> = None;
        let mut replayed = false;
        for step in (current - SKEW_STEPS)..=(current + SKEW_STEPS) {
            let matches: bool = self
                .code_at_step(step)
                .as_bytes()
                .ct_eq(code.as_bytes())
                .into();
            if matches && step > last_step {
                fresh = Some(fresh.map_or(step, |f| f.max(step)));
            } else if matches {
                replayed = true;
            }
        }
        match (fresh, replayed) {
            (Some(step), _) => CodeCheck::Valid { step },
            (None, true) => CodeCheck::Replayed,
            (None, false) => CodeCheck::Wrong,
        }
    }
}

/// The verdict on a TOTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Valid and not used before; `step` must be recorded so it cannot be used again.
    Valid { step: i64 },
    /// Right code, but its step (or a later one) was already used.
    Replayed,
    /// Not a code of this secret around this time.
    Wrong,
}

/// The RFC 6238 time step (`T`) of an instant: seconds since the epoch / 30.
pub fn step_of(now: Timestamp) -> i64 {
    now.0.div_euclid(1000).div_euclid(STEP_SECS)
}

/// A typed code without spaces, if it has the shape of one (6 ASCII digits).
pub fn normalize_code(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A recovery code: the text shown to the person once, and its hash, the
/// only thing stored.
#[derive(Clone)]
pub struct RecoveryCode {
    /// `xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx`, 128 random bits in hex.
    pub text: String,
    /// SHA-256 of the normalized code.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(…)")
    }
}

impl RecoveryCode {
    /// A new random recovery code.
    pub fn generate() -> Self {
        let mut bytes = [0u8; RECOVERY_CODE_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        let hex = hex::encode(bytes);
        let text = hex
            .as_bytes()
            .chunks(8)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        Self {
            hash: recovery_code_hash(&hex).unwrap_or_default(),
            text,
        }
    }

    /// A full set for one enrollment.
    pub fn generate_set() -> Vec<Self> {
        (0..RECOVERY_CODES).map(|_| Self::generate()).collect()
    }
}

/// The hash of a typed recovery code, if it has the shape of one: dashes and
/// spaces are ignored and letters may be in either case.
pub fn recovery_code_hash(typed: &str) -> Option<[u8; 32]> {
    let hex: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != RECOVERY_CODE_BYTES * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Sha256::digest(hex.as_bytes()).into())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for the
/// label and issuer of an `otpauth://` URI).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed and its 8-digit codes; the last six
    /// digits are the 6-digit code.
    #[test]
    fn matches_the_rfc_6238_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (seconds, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let step = step_of(Timestamp(seconds * 1000));
            assert_eq!(secret.code_at_step(step), eight[2..], "T = {seconds}");
        }
    }

    #[test]
    fn accepts_one_step_of_drift_and_refuses_replays() {
        let secret = TotpSecret::generate();
        let now = Timestamp(1_700_000_000_000);
        let step = step_of(now);
        for drift in [-1, 0, 1] {
            let code = secret.code_at_step(step + drift);
            assert_eq!(
                secret.check(&code, now, 0),
                CodeCheck::Valid { step: step + drift }
            );
        }
        for far in [-2, 2] {
            let code = secret.code_at_step(step + far);
            assert_eq!(secret.check(&code, now, 0), CodeCheck::Wrong);
        }
        let code = secret.code_at_step(step);
        assert_eq!(secret.check(&code, now, step), CodeCheck::Replayed);
        let older = secret.code_at_step(step - 1);
        assert_eq!(secret.check(&older, now, step), CodeCheck::Replayed);
        assert_eq!(
            secret.check(&secret.code_at_step(step + 1), now, step),
            CodeCheck::Valid { step: step + 1 }
        );
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(secret.check(&spaced, now, 0), CodeCheck::Valid { step });
        assert_eq!(secret.check("12345", now, 0), CodeCheck::Wrong);
        assert_eq!(secret.check("abcdef", now, 0), CodeCheck::Wrong);
    }

    #[test]
    fn base32_and_uri() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32(&secret.to_base32()),
            Some(secret.clone())
        );
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
        assert_eq!(TotpSecret::from_base32("GEZDGNBV"), None, "too short");
        assert_eq!(
            secret.otpauth_uri("ana@example.com"),
            "otpauth://totp/Keyhouse:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Keyhouse&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(TotpSecret::generate().0.len(), SECRET_BYTES);
    }

    #[test]
    fn recovery_codes_hash_the_normalized_text() {
        let code = RecoveryCode::generate();
        assert_eq!(code.text.len(), 35);
        assert_eq!(recovery_code_hash(&code.text), Some(code.hash));
        let loose = code.text.to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&loose), Some(code.hash));
        assert_eq!(recovery_code_hash("123456"), None);
        let set = RecoveryCode::generate_set();
        assert_eq!(set.len(), RECOVERY_CODES);
        assert_ne!(set[0].hash, set[1].hash);
    }
}
