-- Connected apps and app-issued tokens (PostgreSQL). Numbered in lockstep with the SQLite backend.
-- List columns (grant_types, redirect_uris, public_keys, scopes) hold JSON arrays of strings.

CREATE TABLE connected_apps (
    client_id         TEXT    NOT NULL,
    secret_hash       BYTEA   NOT NULL,
    name              TEXT    NOT NULL,
    -- Lower-cased name: carries the rule that names are unique per org regardless of case.
    name_key          TEXT    NOT NULL,
    org_id            UUID    NOT NULL,
    owner_user_id     UUID    NOT NULL,
    grant_types       JSONB   NOT NULL,
    redirect_uris     JSONB   NOT NULL,
    public_keys       JSONB   NOT NULL,
    scopes            JSONB   NOT NULL,
    audience          TEXT    NOT NULL,
    client_uri        TEXT    NULL,
    policy_uri        TEXT    NULL,
    enabled           BOOLEAN NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    secret_updated_at BIGINT  NOT NULL,
    CONSTRAINT connected_apps_pkey PRIMARY KEY (client_id),
    CONSTRAINT connected_apps_secret_hash_check CHECK (octet_length(secret_hash) = 32),
    CONSTRAINT connected_apps_audience_check CHECK (audience IN ('internal', 'everyone')),
    CONSTRAINT connected_apps_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT connected_apps_org_id_name_key_key UNIQUE (org_id, name_key)
);
-- Listing an organization's apps, oldest first.
CREATE INDEX connected_apps_org_id_created_at_idx ON connected_apps (org_id, created_at, client_id);

-- Context-bound scopes, kept in the order they were set (position).
CREATE TABLE app_scopes (
    client_id TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    scope     TEXT    NOT NULL,
    org_id    UUID    NULL,
    env_id    UUID    NULL,
    CONSTRAINT app_scopes_pkey PRIMARY KEY (client_id, position),
    CONSTRAINT app_scopes_client_id_fkey FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE
);

-- Tokens may now belong to an app instead of (or as well as) a user.
ALTER TABLE access_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE access_tokens ADD COLUMN client_id TEXT NULL;
ALTER TABLE access_tokens ADD CONSTRAINT access_tokens_client_id_fkey
    FOREIGN KEY (client_id) REFERENCES connected_apps (client_id) ON DELETE CASCADE;
ALTER TABLE access_tokens ADD CONSTRAINT access_tokens_subject_check
    CHECK (user_id IS NOT NULL OR client_id IS NOT NULL);
-- Lets deleting an app (cascade) or its tokens find them by index.
CREATE INDEX access_tokens_client_id_idx ON access_tokens (client_id);
