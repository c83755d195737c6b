-- Connected apps and app-issued tokens (SQLite). Numbered in lockstep with the PostgreSQL migrations.
-- List columns (grant_types, redirect_uris, public_keys, scopes) hold JSON arrays of strings.
CREATE TABLE connected_apps (
    client_id         TEXT PRIMARY KEY NOT NULL,
    secret_hash       BLOB NOT NULL CHECK (length(secret_hash) = 32),
    name              TEXT NOT NULL,
    -- Lower-cased name: carries the rule that names are unique per org regardless of case.
    name_key          TEXT NOT NULL,
    org_id            TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    owner_user_id     TEXT NOT NULL,
    grant_types       TEXT NOT NULL,
    redirect_uris     TEXT NOT NULL,
    public_keys       TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    audience          TEXT NOT NULL CHECK (audience IN ('internal', 'everyone')),
    client_uri        TEXT NULL,
    policy_uri        TEXT NULL,
    enabled           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    secret_updated_at INTEGER NOT NULL,
    CONSTRAINT connected_apps_org_name UNIQUE (org_id, name_key)
);
CREATE INDEX connected_apps_org_created ON connected_apps(org_id, created_at, client_id);

-- Context-bound scopes, kept in the order they were set (position).
CREATE TABLE app_scopes (
    client_id TEXT NOT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    scope     TEXT NOT NULL,
    org_id    TEXT NULL,
    env_id    TEXT NULL,
    PRIMARY KEY (client_id, position)
);

-- Tokens may now belong to an app instead of a user. SQLite cannot drop NOT NULL,
-- so the table is rebuilt, keeping every existing token. Nothing references it.
CREATE TABLE access_tokens_new (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    TEXT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT access_tokens_subject CHECK (user_id IS NOT NULL OR client_id IS NOT NULL)
);
INSERT INTO access_tokens_new (token_hash, user_id, client_id, org_id, created_at, expires_at)
    SELECT token_hash, user_id, NULL, org_id, created_at, expires_at FROM access_tokens;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_new RENAME TO access_tokens;
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
CREATE INDEX access_tokens_client ON access_tokens(client_id);
