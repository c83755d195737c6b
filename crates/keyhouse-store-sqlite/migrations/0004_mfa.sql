-- Multi-factor authentication (SQLite). Numbered in lockstep with the PostgreSQL migrations.
-- The TOTP secret is a shared secret: the server computes the same codes as the
-- person's authenticator app, so it is stored usable (base32), not hashed.
-- Recovery codes carry 128 random bits and are stored only as their SHA-256.

-- At most one TOTP factor per user; confirmed_at stays NULL until enrollment is finished.
CREATE TABLE mfa_factors (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT NOT NULL,
    confirmed_at INTEGER NULL,
    created_at   INTEGER NOT NULL,
    -- The last RFC 6238 time step accepted: no code of this step or earlier is accepted again.
    last_step    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mfa_recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL CHECK (length(code_hash) = 32),
    used_at   INTEGER NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Browser sign-ins whose password was right and whose second factor is still
-- missing ("MFA pending"). Kept apart from browser_sessions, so a pending
-- sign-in is never taken for a signed-in browser.
CREATE TABLE mfa_challenges (
    challenge_hash BLOB PRIMARY KEY NOT NULL CHECK (length(challenge_hash) = 32),
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL CHECK (purpose IN ('verify', 'enroll')),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges(expires_at);
CREATE INDEX mfa_challenges_user ON mfa_challenges(user_id);

-- The admin policy: every user of the organization must use a second factor.
ALTER TABLE organizations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;
