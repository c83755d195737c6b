//! Multi-factor authentication (issue 6 §5): TOTP enrollment with recovery
//! codes, the second sign-in step of the browser pages, turning MFA off, the
//! admins' reset and the per-organization policy.
//!
//! A password alone never opens a browser session for a user with a factor
//! (or whose organization requires one): it opens a *pending sign-in*, kept
//! apart from browser sessions (see [`crate::store_mfa::MfaChallenge`]), that
//! only a code turns into a session. `POST /accounts/login` and the password
//! grant cannot ask for a code, so they refuse such users, as Anypoint does.

use std::net::IpAddr;

use super::authorize::NewBrowserSession;
use super::{Keyhouse, Principal};
use crate::access::{Action, Actor, User};
use crate::audit::AuditEvent;
use crate::authn::browser::BrowserSession;
use crate::authn::token::{mint, TokenHash, TOKEN_MAX_LEN};
use crate::authn::totp::{recovery_code_hash, CodeCheck, RecoveryCode, TotpSecret};
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::store_mfa::{MfaChallenge, MfaFactor, MfaProof, MfaPurpose};

/// How long a pending sign-in waits for its code (or for enrollment, which
/// takes longer: installing an authenticator app).
pub const MFA_CHALLENGE_MINUTES: i64 = 10;

/// An unconfirmed secret older than this is replaced when the enrollment page
/// is shown again: a secret that sat on a screen for long is not trusted.
pub const ENROLLMENT_RESTART_MINUTES: i64 = 30;

/// Why `POST /accounts/login` refuses a user with MFA, naming what works instead.
pub const MFA_LOGIN_REFUSAL: &str = "This user signs in with multi-factor authentication, \
     which username/password login cannot complete. Use a connected app (client credentials), \
     or sign in through the browser (authorization code).";

/// Why the password grant refuses a user with MFA (`invalid_grant`).
pub const MFA_GRANT_REFUSAL: &str = "The user signs in with multi-factor authentication, \
     which the password grant cannot complete. Use a connected app (client credentials), \
     or the browser flow (authorization code).";

/// What a right password leads to on the sign-in page.
#[derive(Debug)]
pub enum BrowserSignIn {
    /// Signed in: the cookie holds a browser session.
    Session(NewBrowserSession),
    /// The user has a factor: the cookie holds a pending sign-in, and a code is next.
    SecondFactor(NewBrowserSession),
    /// The organization requires MFA and the user has none: the cookie holds
    /// a pending sign-in, and enrollment is next.
    Enroll(NewBrowserSession),
}

/// Who is looking at an MFA page, by the session cookie they hold.
#[derive(Debug)]
pub enum MfaVisitor {
    /// A signed-in user (may enroll, or turn MFA off).
    SignedIn(User),
    /// A pending sign-in that must enroll before it becomes a session.
    Enrolling(User),
    /// A pending sign-in waiting for a code.
    Verifying(User),
    /// Nobody: no cookie, or an expired or unknown one.
    Nobody,
}

/// The enrollment page's content.
#[derive(Debug)]
pub enum Enrollment {
    /// MFA is on.
    Active { recovery_codes_left: u64 },
    /// Not yet: the secret to put into the authenticator app, as text and as
    /// the `otpauth://` URI its QR code holds.
    Setup { secret: String, uri: String },
}

/// A finished enrollment.
#[derive(Debug)]
pub struct Enrolled {
    /// The recovery codes, shown to the person this once (only hashes are kept).
    pub recovery_codes: Vec<String>,
    /// For an enrollment that finished a pending sign-in: the new browser session.
    pub session: Option<NewBrowserSession>,
}

/// A typed code judged against a factor.
enum Judged {
    Proof(MfaProof),
    Refused(&'static str),
}

impl Keyhouse {
    /// What the user must do after a right password: `None` (nothing), a code
    /// (they have a factor), or enroll (their organization requires MFA).
    pub(crate) async fn mfa_step(&self, user: &User) -> CoreResult<Option<MfaPurpose>> {
        if let Some(factor) = self.store.find_mfa_factor(user.id).await? {
            if factor.is_confirmed() {
                return Ok(Some(MfaPurpose::Verify));
            }
        }
        if self.store.find_mfa_required(user.org_id).await? {
            return Ok(Some(MfaPurpose::Enroll));
        }
        Ok(None)
    }

    /// Refuses a password-only entry point (`/accounts/login`, the password
    /// grant) for a user who must use a second factor: audited, then the
    /// caller answers with its own refusal.
    pub(crate) async fn password_only_allowed(
        &self,
        user: &User,
        entry: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<bool> {
        if self.mfa_step(user).await?.is_none() {
            return Ok(true);
        }
        let event = AuditEvent::new(self.clock.now(), "mfa.failed", "user")
            .org(user.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
            .failed()
            .with("stage", entry)
            .with("reason", "second factor required");
        self.store.insert_audit_events(&[event]).await?;
        Ok(false)
    }

    /// Opens a pending sign-in for `user` (the password was right).
    pub(crate) async fn open_mfa_challenge(
        &self,
        user: &User,
        purpose: MfaPurpose,
    ) -> CoreResult<BrowserSignIn> {
        let now = self.clock.now();
        let token = mint();
        let challenge = MfaChallenge {
            hash: token.hash,
            user_id: user.id,
            purpose,
            created_at: now,
            expires_at: now.plus_minutes(MFA_CHALLENGE_MINUTES),
        };
        self.store.insert_mfa_challenge(&challenge).await?;
        let pending = NewBrowserSession {
            cookie: token.secret,
            max_age_secs: MFA_CHALLENGE_MINUTES * 60,
        };
        Ok(match purpose {
            MfaPurpose::Verify => BrowserSignIn::SecondFactor(pending),
            MfaPurpose::Enroll => BrowserSignIn::Enroll(pending),
        })
    }

    /// Who holds `cookie`: a signed-in user, a pending sign-in, or nobody.
    pub async fn mfa_visitor(&self, cookie: &str) -> CoreResult<MfaVisitor> {
        if let Some((_, user)) = self.browser_user(cookie).await? {
            return Ok(MfaVisitor::SignedIn(user));
        }
        let Some((challenge, user)) = self.live_challenge(cookie).await? else {
            return Ok(MfaVisitor::Nobody);
        };
        Ok(match challenge.purpose {
            MfaPurpose::Enroll => MfaVisitor::Enrolling(user),
            MfaPurpose::Verify => MfaVisitor::Verifying(user),
        })
    }

    /// The unexpired pending sign-in behind a cookie, with its (enabled) user.
    async fn live_challenge(&self, cookie: &str) -> CoreResult<Option<(MfaChallenge, User)>> {
        if cookie.is_empty() || cookie.len() > TOKEN_MAX_LEN {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(challenge) = self
            .store
            .find_mfa_challenge(&TokenHash::of(cookie))
            .await?
            .filter(|c| c.expires_at > now)
        else {
            return Ok(None);
        };
        let user = self
            .load_user(challenge.user_id)
            .await?
            .filter(|u| u.enabled);
        Ok(user.map(|u| (challenge, u)))
    }

    /// Whether the user has finished enrolling (Anypoint's `mfaVerifiersConfigured`).
    pub async fn mfa_configured(&self, user: UserId) -> CoreResult<bool> {
        if let Some(hit) = self.mfa_cache.configured(user) {
            return Ok(hit);
        }
        let epoch = self.mfa_cache.epoch();
        let configured = self
            .store
            .find_mfa_factor(user)
            .await?
            .is_some_and(|f| f.is_confirmed());
        self.mfa_cache.keep_configured(epoch, user, configured);
        Ok(configured)
    }

    /// The enrollment page for `user`: MFA's state, or a secret to set up
    /// (the unconfirmed one already shown, while it is recent, so reloading
    /// the page does not invalidate a QR code just scanned).
    pub async fn mfa_enrollment(&self, user: &User) -> CoreResult<Enrollment> {
        let now = self.clock.now();
        let existing = self.store.find_mfa_factor(user.id).await?;
        if existing.as_ref().is_some_and(MfaFactor::is_confirmed) {
            return Ok(Enrollment::Active {
                recovery_codes_left: self.store.count_recovery_codes(user.id).await?,
            });
        }
        let recent = existing.filter(|f| {
            f.created_at.plus_minutes(ENROLLMENT_RESTART_MINUTES) > now
                && TotpSecret::from_base32(&f.secret).is_some()
        });
        let secret = match recent {
            Some(factor) => TotpSecret::from_base32(&factor.secret)
                .ok_or_else(|| CoreError::Internal("unreadable TOTP secret".to_owned()))?,
            None => {
                let secret = TotpSecret::generate();
                self.store
                    .start_mfa_factor(&MfaFactor {
                        user_id: user.id,
                        secret: secret.to_base32(),
                        confirmed_at: None,
                        created_at: now,
                        last_step: 0,
                    })
                    .await?;
                secret
            }
        };
        Ok(Enrollment::Setup {
            secret: secret.to_base32(),
            uri: secret.otpauth_uri(&user.username),
        })
    }

    /// Finishes enrollment with a code from the authenticator app: the factor
    /// is confirmed and ten recovery codes are made. For a pending sign-in
    /// that had to enroll, the sign-in completes too. A wrong code is
    /// [`CoreError::InvalidCredentials`] (throttled and audited).
    pub async fn confirm_mfa_enrollment(
        &self,
        cookie: &str,
        code: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<Enrolled> {
        let (user, pending) = match self.mfa_visitor(cookie).await? {
            MfaVisitor::SignedIn(user) => (user, false),
            MfaVisitor::Enrolling(user) => (user, true),
            MfaVisitor::Verifying(_) | MfaVisitor::Nobody => return Err(CoreError::InvalidToken),
        };
        self.mfa_throttle_check(&user, source)?;
        let now = self.clock.now();
        let factor = self
            .store
            .find_mfa_factor(user.id)
            .await?
            .filter(|f| !f.is_confirmed())
            .ok_or_else(|| {
                CoreError::Conflict(
                    "Multi-factor authentication is already set up, or its setup was not started"
                        .to_owned(),
                )
            })?;
        let secret = TotpSecret::from_base32(&factor.secret)
            .ok_or_else(|| CoreError::Internal("unreadable TOTP secret".to_owned()))?;
        let step = match secret.check(code, now, factor.last_step) {
            CodeCheck::Valid { step } => step,
            CodeCheck::Replayed => {
                return Err(self
                    .mfa_failed(&user, "enroll", "code replayed", source)
                    .await?)
            }
            CodeCheck::Wrong => {
                return Err(self
                    .mfa_failed(&user, "enroll", "wrong code", source)
                    .await?)
            }
        };
        let codes = RecoveryCode::generate_set();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| c.hash).collect();
        let event = self
            .mfa_event(&user, "mfa.enrolled", source)
            .with("recovery_codes", hashes.len());
        let confirmed = self
            .store
            .confirm_mfa_factor(user.id, &factor.secret, step, now, &hashes, &[event])
            .await?;
        self.mfa_cache.forget_user(user.id);
        if !confirmed {
            return Err(self
                .mfa_failed(&user, "enroll", "setup restarted meanwhile", source)
                .await?);
        }
        self.throttles.accounts.success(&mfa_key(user.id));
        self.directory.forget_user(user.id);
        let session = if pending {
            let extra = [AuditEvent::new(now, "user.sign_in", "user")
                .org(user.org_id)
                .user(user.id)
                .object(user.id.to_string())
                .source(source)
                .with("mfa", "enrolled")];
            let done = self
                .finish_sign_in(cookie, &user, &MfaProof::Enrolled, &extra, source)
                .await?;
            // The challenge expired while enrolling: the factor is set up all
            // the same, and the next sign-in asks for a code.
            Some(done.ok_or(CoreError::InvalidToken)?)
        } else {
            None
        };
        Ok(Enrolled {
            recovery_codes: codes.into_iter().map(|c| c.text).collect(),
            session,
        })
    }

    /// The second step of a browser sign-in: a TOTP code (or a recovery code)
    /// turns the pending sign-in behind `cookie` into a browser session with a
    /// new cookie value. A wrong, replayed or used code is
    /// [`CoreError::InvalidCredentials`] (throttled per user with the password
    /// throttle's limits, and audited); no live pending sign-in is
    /// [`CoreError::InvalidToken`] (sign in again).
    pub async fn verify_mfa_sign_in(
        &self,
        cookie: &str,
        code: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<NewBrowserSession> {
        let Some((challenge, user)) = self.live_challenge(cookie).await? else {
            return Err(CoreError::InvalidToken);
        };
        if challenge.purpose != MfaPurpose::Verify {
            return Err(CoreError::InvalidToken);
        }
        self.mfa_throttle_check(&user, source)?;
        let factor = self
            .store
            .find_mfa_factor(user.id)
            .await?
            .filter(MfaFactor::is_confirmed)
            // Reset meanwhile: sign in again (without a code this time).
            .ok_or(CoreError::InvalidToken)?;
        let proof = match self.judge(&factor, code)? {
            Judged::Proof(proof) => proof,
            Judged::Refused(reason) => {
                return Err(self.mfa_failed(&user, "sign_in", reason, source).await?)
            }
        };
        let now = self.clock.now();
        let events = [AuditEvent::new(now, "user.sign_in", "user")
            .org(user.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
            .with("mfa", proof_method(&proof))];
        match self
            .finish_sign_in(cookie, &user, &proof, &events, source)
            .await?
        {
            Some(session) => {
                self.throttles.accounts.success(&mfa_key(user.id));
                Ok(session)
            }
            None => Err(self
                .mfa_failed(&user, "sign_in", refusal_reason(&proof), source)
                .await?),
        }
    }

    /// Completes the pending sign-in behind `cookie` with `proof`: `None`
    /// when the store refused the proof or the challenge is gone.
    async fn finish_sign_in(
        &self,
        cookie: &str,
        user: &User,
        proof: &MfaProof,
        extra: &[AuditEvent],
        source: Option<IpAddr>,
    ) -> CoreResult<Option<NewBrowserSession>> {
        let now = self.clock.now();
        let minutes = self.session_minutes(user).await?;
        let token = mint();
        let session = BrowserSession {
            hash: token.hash,
            user_id: user.id,
            auth_time: now,
            created_at: now,
            expires_at: now.plus_minutes(minutes),
        };
        let mut events = self.proof_events(user, proof, source);
        events.extend_from_slice(extra);
        let done = self
            .store
            .complete_mfa_challenge(
                &TokenHash::of(cookie),
                user.id,
                proof,
                now,
                &session,
                &events,
            )
            .await?;
        if !done {
            return Ok(None);
        }
        self.store.record_login(user.id, now).await?;
        self.directory.forget_user(user.id);
        Ok(Some(NewBrowserSession {
            cookie: token.secret,
            max_age_secs: minutes * 60,
        }))
    }

    /// Turns MFA off for the signed-in `user`, who proves it with a current
    /// code (or a recovery code). Refused codes are throttled and audited.
    pub async fn disable_mfa(
        &self,
        user: &User,
        code: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        self.mfa_throttle_check(user, source)?;
        let factor = self
            .store
            .find_mfa_factor(user.id)
            .await?
            .filter(MfaFactor::is_confirmed)
            .ok_or_else(|| {
                CoreError::NotFound("Multi-factor authentication is not set up".to_owned())
            })?;
        let proof = match self.judge(&factor, code)? {
            Judged::Proof(proof) => proof,
            Judged::Refused(reason) => {
                return Err(self.mfa_failed(user, "disable", reason, source).await?)
            }
        };
        let now = self.clock.now();
        let mut events = self.proof_events(user, &proof, source);
        events.push(self.mfa_event(user, "mfa.reset", source).with("by", "user"));
        let deleted = self
            .store
            .delete_mfa_factor(user.id, Some(&proof), now, &events)
            .await?;
        self.mfa_cache.forget_user(user.id);
        if !deleted {
            return Err(self
                .mfa_failed(user, "disable", refusal_reason(&proof), source)
                .await?);
        }
        self.throttles.accounts.success(&mfa_key(user.id));
        self.directory.forget_user(user.id);
        Ok(())
    }

    /// `DELETE /accounts/api/organizations/{orgId}/users/{userId}/mfa`: an
    /// administrator of the user's organization removes their factor and
    /// recovery codes (a lost phone). Only a person may do it, not an app.
    /// Idempotent: a user without a factor is fine.
    pub async fn reset_user_mfa(
        &self,
        principal: &Principal,
        org: OrgId,
        user_id: UserId,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        let (actor, _, found) = self
            .authorize(principal, org, Action::EditOrganization)
            .await?;
        if matches!(actor, Actor::App(_)) {
            return Err(CoreError::Forbidden(
                "Resetting a user's multi-factor authentication needs a user's token".to_owned(),
            ));
        }
        let user = self
            .load_user(user_id)
            .await?
            .filter(|u| u.org_id == found.id)
            .ok_or_else(|| CoreError::NotFound(format!("User {user_id} not found")))?;
        let now = self.clock.now();
        let event = AuditEvent::new(now, "mfa.reset", "user")
            .org(user.org_id)
            .user(actor.acting_user_id())
            .object(user.id.to_string())
            .source(source)
            .with("by", "admin");
        let event = match &principal.client_id {
            Some(client) => event.client(client),
            None => event,
        };
        self.store
            .delete_mfa_factor(user.id, None, now, &[event])
            .await?;
        self.mfa_cache.forget_user(user.id);
        self.directory.forget_user(user.id);
        Ok(())
    }

    /// Judges a typed code: a recovery code (by its shape; whether it is
    /// unused is decided when the store consumes it) or a TOTP code.
    fn judge(&self, factor: &MfaFactor, code: &str) -> CoreResult<Judged> {
        if let Some(hash) = recovery_code_hash(code) {
            return Ok(Judged::Proof(MfaProof::RecoveryCode { hash }));
        }
        let secret = TotpSecret::from_base32(&factor.secret)
            .ok_or_else(|| CoreError::Internal("unreadable TOTP secret".to_owned()))?;
        Ok(
            match secret.check(code, self.clock.now(), factor.last_step) {
                CodeCheck::Valid { step } => Judged::Proof(MfaProof::Totp { step }),
                CodeCheck::Replayed => Judged::Refused("code replayed"),
                CodeCheck::Wrong => Judged::Refused("wrong code"),
            },
        )
    }

    /// Refuses while the user's code attempts (or the address) are throttled.
    fn mfa_throttle_check(&self, user: &User, source: Option<IpAddr>) -> CoreResult<()> {
        let now = self.clock.now();
        self.throttles
            .accounts
            .check(&mfa_key(user.id), now)
            .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })?;
        if let Some(ip) = source {
            self.throttles
                .addresses
                .check(&ip.to_string(), now)
                .map_err(|retry_after_secs| CoreError::Throttled { retry_after_secs })?;
        }
        Ok(())
    }

    /// Counts a refused code, writes `mfa.failed`, and gives the error to return.
    async fn mfa_failed(
        &self,
        user: &User,
        stage: &str,
        reason: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<CoreError> {
        let now = self.clock.now();
        self.throttles.accounts.failure(&mfa_key(user.id), now);
        if let Some(ip) = source {
            self.throttles.addresses.failure(&ip.to_string(), now);
        }
        let event = self
            .mfa_event(user, "mfa.failed", source)
            .failed()
            .with("stage", stage)
            .with("reason", reason);
        self.store.insert_audit_events(&[event]).await?;
        tracing::info!(user = %user.id, stage, reason, "second factor refused");
        Ok(CoreError::InvalidCredentials)
    }

    /// An event about `user`'s MFA, done by the user.
    fn mfa_event(&self, user: &User, action: &str, source: Option<IpAddr>) -> AuditEvent {
        AuditEvent::new(self.clock.now(), action, "user")
            .org(user.org_id)
            .user(user.id)
            .object(user.id.to_string())
            .source(source)
    }

    /// The events of an accepted proof: `mfa.verified`, and
    /// `mfa.recovery_code_used` for a recovery code.
    fn proof_events(
        &self,
        user: &User,
        proof: &MfaProof,
        source: Option<IpAddr>,
    ) -> Vec<AuditEvent> {
        let mut events = vec![self
            .mfa_event(user, "mfa.verified", source)
            .with("method", proof_method(proof))];
        if matches!(proof, MfaProof::RecoveryCode { .. }) {
            events.push(self.mfa_event(user, "mfa.recovery_code_used", source));
        }
        events
    }
}

/// The throttle key of a user's code attempts. Apart from the password's
/// (`user:<username>`), because a right password resets that one: someone
/// who knows the password must not get fresh code guesses with each sign-in.
fn mfa_key(user: UserId) -> String {
    format!("mfa:{user}")
}

/// The audit name of a proof.
fn proof_method(proof: &MfaProof) -> &'static str {
    match proof {
        MfaProof::Totp { .. } => "totp",
        MfaProof::RecoveryCode { .. } => "recovery_code",
        MfaProof::Enrolled => "enrollment",
    }
}

/// Why the store refused a proof the service found valid.
fn refusal_reason(proof: &MfaProof) -> &'static str {
    match proof {
        MfaProof::Totp { .. } => "code replayed",
        MfaProof::RecoveryCode { .. } => "unknown or used recovery code",
        MfaProof::Enrolled => "sign-in expired",
    }
}
