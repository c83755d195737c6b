-- Apps acting on behalf of users, OpenID Connect keys and the audit log (SQLite).
-- Numbered in lockstep with the PostgreSQL migrations. Secrets (session cookies,
-- codes, refresh tokens) are stored only as their SHA-256 hash.

-- Signed-in browsers behind the authorization pages.
CREATE TABLE browser_sessions (
    session_hash BLOB PRIMARY KEY NOT NULL CHECK (length(session_hash) = 32),
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);
CREATE INDEX browser_sessions_user ON browser_sessions(user_id);

-- Authorization codes; consumed_at is set once, atomically, on redemption.
CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY NOT NULL CHECK (length(code_hash) = 32),
    client_id      TEXT NOT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NULL,
    nonce          TEXT NULL,
    auth_time      INTEGER NOT NULL,
    family_id      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER NULL
);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
-- Revoking one app's grants (all users, or one user) finds the codes by index.
CREATE INDEX authorization_codes_client_user ON authorization_codes(client_id, user_id);
CREATE INDEX authorization_codes_user ON authorization_codes(user_id);
-- A replayed code kills its family: finds the pair the family belongs to.
CREATE INDEX authorization_codes_family ON authorization_codes(family_id);

-- A user's remembered consent to an app.
CREATE TABLE consents (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents(client_id, updated_at);

-- Refresh tokens; every token rotated from one grant shares family_id.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user_client ON refresh_tokens(user_id, client_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens(client_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);

-- JWT-bearer assertion ids already used, kept until the assertion expires.
CREATE TABLE used_assertions (
    client_id  TEXT NOT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_expiry ON used_assertions(expires_at);

-- ID-token signing keys (PKCS#8 PEM).
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NULL
);

-- The audit log. No foreign keys: events outlive the objects they describe.
-- seq (the rowid) orders events written in the same millisecond.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    at              INTEGER NOT NULL,
    org_id          TEXT NULL,
    actor_user_id   TEXT NULL,
    actor_client_id TEXT NULL,
    action          TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    object_id       TEXT NULL,
    source          TEXT NULL,
    success         INTEGER NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX audit_events_org_at ON audit_events(org_id, at, seq);

-- Tokens issued to an app acting for a user carry the granted scopes.
ALTER TABLE access_tokens ADD COLUMN scope TEXT NULL;
-- Revoking a user's grant to an app finds its tokens by index.
CREATE INDEX access_tokens_user_client ON access_tokens(user_id, client_id);

-- Public clients (RFC 7591 token_endpoint_auth_method "none"): browser and
-- native apps that cannot keep a secret; they must use PKCE.
ALTER TABLE connected_apps ADD COLUMN public_client INTEGER NOT NULL DEFAULT 0;
