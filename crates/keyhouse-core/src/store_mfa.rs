//! Storage of multi-factor authentication (TOTP factors and recovery codes).
//!
//! Single-use things (a TOTP time step, a recovery code, a pending sign-in)
//! are consumed with conditional updates, so of concurrent callers exactly one
//! wins, and each change commits together with its audit events.

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::TokenHash;
use crate::ids::{OrgId, UserId};
use crate::store::StoreResult;
use crate::time_fmt::Timestamp;

/// A user's TOTP factor. At most one per user; unconfirmed until the person
/// proved with a code that their authenticator app has the secret.
#[derive(Clone, PartialEq)]
pub struct MfaFactor {
    pub user_id: UserId,
    /// The shared secret, base32. Stored usable: the server must compute the
    /// same codes as the app (see docs/mfa.md).
    pub secret: String,
    /// `None` while enrollment is not finished: such a factor is not asked for at sign-in.
    pub confirmed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The last RFC 6238 time step accepted; codes of this step and earlier
    /// are refused (replay). 0 before the first use.
    pub last_step: i64,
}

impl std::fmt::Debug for MfaFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaFactor")
            .field("user_id", &self.user_id)
            .field("secret", &"<redacted>")
            .field("confirmed_at", &self.confirmed_at)
            .field("created_at", &self.created_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

impl MfaFactor {
    /// True once enrollment is finished: only then is the factor asked for.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// What a pending sign-in waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaPurpose {
    /// The user has a factor: the next step is a code.
    Verify,
    /// The organization requires MFA and the user has none: the next step is enrollment.
    Enroll,
}

impl MfaPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MfaPurpose::Verify => "verify",
            MfaPurpose::Enroll => "enroll",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify" => Some(MfaPurpose::Verify),
            "enroll" => Some(MfaPurpose::Enroll),
            _ => None,
        }
    }
}

/// A browser sign-in whose password was right but whose second factor is
/// still missing. It lives in its own table, not among browser sessions, so
/// nothing that looks for a signed-in browser can mistake it for one.
#[derive(Debug, Clone, PartialEq)]
pub struct MfaChallenge {
    /// SHA-256 of the cookie value the browser holds meanwhile.
    pub hash: TokenHash,
    pub user_id: UserId,
    pub purpose: MfaPurpose,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What proves the second factor, consumed by the store in the same
/// transaction as the change it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaProof {
    /// A TOTP code of this time step: accepted only when the step is later
    /// than the factor's `last_step`, which becomes this step.
    Totp { step: i64 },
    /// A recovery code (its SHA-256): accepted only when unused, then marked used.
    RecoveryCode { hash: [u8; 32] },
    /// The factor was confirmed with a code in this same request (enrollment
    /// at sign-in): nothing more to consume.
    Enrolled,
}

/// TOTP factors, recovery codes and MFA sign-in state (issue 6 §5).
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user's factor, confirmed or not.
    async fn find_mfa_factor(&self, user: UserId) -> StoreResult<Option<MfaFactor>>;
    /// Stores a new unconfirmed factor, replacing an unconfirmed one (a
    /// restarted enrollment). A confirmed factor is never replaced: `Conflict`.
    async fn start_mfa_factor(&self, factor: &MfaFactor) -> StoreResult<()>;
    /// Finishes enrollment: the unconfirmed factor whose secret is `secret`
    /// becomes confirmed at `at` with `last_step = step`, the user's recovery
    /// codes are replaced by `recovery_hashes`, and the audit events are
    /// written, all or nothing. False (nothing changed) when there is no such
    /// unconfirmed factor (confirmed meanwhile, or restarted with a new secret).
    async fn confirm_mfa_factor(
        &self,
        user: UserId,
        secret: &str,
        step: i64,
        at: Timestamp,
        recovery_hashes: &[[u8; 32]],
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;
    /// Unused recovery codes the user has left.
    async fn count_recovery_codes(&self, user: UserId) -> StoreResult<u64>;
    /// Removes the user's factor and recovery codes (the user turning MFA
    /// off, or an admin's reset) with the audit events. With a proof, the
    /// proof is consumed first and nothing changes unless it is accepted.
    /// False when there was no factor or the proof was refused.
    async fn delete_mfa_factor(
        &self,
        user: UserId,
        proof: Option<&MfaProof>,
        at: Timestamp,
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;

    /// Stores a pending sign-in.
    async fn insert_mfa_challenge(&self, challenge: &MfaChallenge) -> StoreResult<()>;
    /// One pending sign-in by the hash of its cookie value (expired or not).
    async fn find_mfa_challenge(&self, hash: &TokenHash) -> StoreResult<Option<MfaChallenge>>;
    /// Turns a pending sign-in into a browser session, all or nothing: consumes
    /// `proof` for `user`, deletes the challenge (which must belong to `user`
    /// and not be expired at `at`), stores `session`, writes the audit events.
    /// False (nothing changed) when the proof is refused (a replayed step, a
    /// used or unknown recovery code) or the challenge is gone.
    async fn complete_mfa_challenge(
        &self,
        challenge: &TokenHash,
        user: UserId,
        proof: &MfaProof,
        at: Timestamp,
        session: &BrowserSession,
        audit: &[AuditEvent],
    ) -> StoreResult<bool>;
    /// Removes pending sign-ins that expired before `now`; returns how many.
    async fn purge_expired_mfa_challenges(&self, now: Timestamp) -> StoreResult<u64>;

    /// Whether the organization requires MFA of its users (false when it does not exist).
    async fn find_mfa_required(&self, org: OrgId) -> StoreResult<bool>;
    /// Sets the organization's MFA policy with the audit events; `NotFound`
    /// when the organization does not exist.
    async fn set_mfa_required(
        &self,
        org: OrgId,
        required: bool,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
}
