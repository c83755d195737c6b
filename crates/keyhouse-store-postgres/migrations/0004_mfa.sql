-- Multi-factor authentication (PostgreSQL). Numbered in lockstep with the SQLite
-- backend: same tables, same column names.
-- The TOTP secret is a shared secret: the server computes the same codes as the
-- person's authenticator app, so it is stored usable (base32), not hashed.
-- Recovery codes carry 128 random bits and are stored only as their SHA-256.

-- At most one TOTP factor per user; confirmed_at stays NULL until enrollment is finished.
CREATE TABLE mfa_factors (
    user_id      UUID   NOT NULL,
    secret       TEXT   NOT NULL,
    confirmed_at BIGINT NULL,
    created_at   BIGINT NOT NULL,
    -- The last RFC 6238 time step accepted: no code of this step or earlier is accepted again.
    last_step    BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT mfa_factors_pkey PRIMARY KEY (user_id),
    CONSTRAINT mfa_factors_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE mfa_recovery_codes (
    user_id   UUID   NOT NULL,
    code_hash BYTEA  NOT NULL,
    used_at   BIGINT NULL,
    CONSTRAINT mfa_recovery_codes_pkey PRIMARY KEY (user_id, code_hash),
    CONSTRAINT mfa_recovery_codes_code_hash_check CHECK (octet_length(code_hash) = 32),
    CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Browser sign-ins whose password was right and whose second factor is still
-- missing ("MFA pending"). Kept apart from browser_sessions, so a pending
-- sign-in is never taken for a signed-in browser.
CREATE TABLE mfa_challenges (
    challenge_hash BYTEA  NOT NULL,
    user_id        UUID   NOT NULL,
    purpose        TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    CONSTRAINT mfa_challenges_pkey PRIMARY KEY (challenge_hash),
    CONSTRAINT mfa_challenges_challenge_hash_check CHECK (octet_length(challenge_hash) = 32),
    CONSTRAINT mfa_challenges_purpose_check CHECK (purpose IN ('verify', 'enroll')),
    CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);

-- The admin policy: every user of the organization must use a second factor.
ALTER TABLE organizations ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE;
