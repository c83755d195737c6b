-- Apps acting on behalf of users, OpenID Connect keys and the audit log (PostgreSQL).
-- Numbered in lockstep with the SQLite backend: same tables, same column names.
-- Secrets (session cookies, codes, refresh tokens) are stored only as their SHA-256 hash.

-- Signed-in browsers behind the authorization pages.
CREATE TABLE browser_sessions (
    session_hash BYTEA  NOT NULL,
    user_id      UUID   NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    CONSTRAINT browser_sessions_pkey PRIMARY KEY (session_hash),
    CONSTRAINT browser_sessions_session_hash_check CHECK (octet_length(session_hash) = 32),
    CONSTRAINT browser_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);
CREATE INDEX browser_sessions_user_id_idx ON browser_sessions (user_id);

-- Authorization codes; consumed_at is set once, atomically, on redemption.
CREATE TABLE authorization_codes (
    code_hash      BYTEA  NOT NULL,
    client_id      TEXT   NOT NULL,
    user_id        UUID   NOT NULL,
    redirect_uri   TEXT   NOT NULL,
    scope          TEXT   NOT NULL,
    code_challenge TEXT   NULL,
    nonce          TEXT   NULL,
    auth_time      BIGINT NOT NULL,
    family_id      TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT NULL,
    CONSTRAINT authorization_codes_pkey PRIMARY KEY (code_hash),
    CONSTRAINT authorization_codes_code_hash_check CHECK (octet_length(code_hash) = 32),
    CONSTRAINT authorization_codes_client_id_fkey FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    CONSTRAINT authorization_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX authorization_codes_expires_at_idx ON authorization_codes (expires_at);
-- Revoking one app's grants (all users, or one user) finds the codes by index.
CREATE INDEX authorization_codes_client_id_user_id_idx ON authorization_codes (client_id, user_id);
CREATE INDEX authorization_codes_user_id_idx ON authorization_codes (user_id);
-- A replayed code kills its family: finds the pair the family belongs to.
CREATE INDEX authorization_codes_family_id_idx ON authorization_codes (family_id);

-- A user's remembered consent to an app.
CREATE TABLE consents (
    user_id      UUID   NOT NULL,
    client_id    TEXT   NOT NULL,
    scope        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (user_id, client_id),
    CONSTRAINT consents_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT consents_client_id_fkey FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE
);
CREATE INDEX consents_client_id_updated_at_idx ON consents (client_id, updated_at);

-- Refresh tokens; every token rotated from one grant shares family_id.
CREATE TABLE refresh_tokens (
    token_hash BYTEA  NOT NULL,
    family_id  TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    user_id    UUID   NOT NULL,
    scope      TEXT   NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT NULL,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT refresh_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT refresh_tokens_client_id_fkey FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_client_id_idx ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_client_id_idx ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- JWT-bearer assertion ids already used, kept until the assertion expires.
CREATE TABLE used_assertions (
    client_id  TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT used_assertions_pkey PRIMARY KEY (client_id, jti),
    CONSTRAINT used_assertions_client_id_fkey FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE
);
CREATE INDEX used_assertions_expires_at_idx ON used_assertions (expires_at);

-- ID-token signing keys (PKCS#8 PEM).
CREATE TABLE signing_keys (
    kid         TEXT   NOT NULL,
    algorithm   TEXT   NOT NULL,
    private_pem TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
);

-- The audit log. No foreign keys: events outlive the objects they describe.
-- seq orders events written in the same millisecond.
CREATE TABLE audit_events (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY,
    id              UUID    NOT NULL,
    at              BIGINT  NOT NULL,
    org_id          UUID    NULL,
    actor_user_id   UUID    NULL,
    actor_client_id TEXT    NULL,
    action          TEXT    NOT NULL,
    object_type     TEXT    NOT NULL,
    object_id       TEXT    NULL,
    source          TEXT    NULL,
    success         BOOLEAN NOT NULL,
    detail          JSONB   NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (seq),
    CONSTRAINT audit_events_id_key UNIQUE (id)
);
CREATE INDEX audit_events_org_id_at_idx ON audit_events (org_id, at, seq);

-- Tokens issued to an app acting for a user carry the granted scopes.
ALTER TABLE access_tokens ADD COLUMN scope TEXT NULL;
-- Revoking a user's grant to an app finds its tokens by index.
CREATE INDEX access_tokens_user_id_client_id_idx ON access_tokens (user_id, client_id);

-- Public clients (RFC 7591 token_endpoint_auth_method "none"): browser and
-- native apps that cannot keep a secret; they must use PKCE.
ALTER TABLE connected_apps ADD COLUMN public_client BOOLEAN NOT NULL DEFAULT FALSE;
