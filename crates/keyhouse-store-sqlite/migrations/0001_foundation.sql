-- Keyhouse foundation schema (SQLite). Numbered in lockstep with the PostgreSQL migrations.
CREATE TABLE organizations (
    id                      TEXT PRIMARY KEY NOT NULL,
    name                    TEXT NOT NULL,
    client_id               TEXT NOT NULL UNIQUE,
    parent_id               TEXT NULL REFERENCES organizations(id),
    root_id                 TEXT NOT NULL,
    owner_id                TEXT NOT NULL,
    domain                  TEXT NULL UNIQUE,
    session_timeout_minutes INTEGER NOT NULL,
    entitlements            TEXT NOT NULL,
    properties              TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX organizations_root ON organizations(root_id);

CREATE TABLE environments (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    env_type    TEXT NOT NULL CHECK (env_type IN ('production', 'sandbox', 'design')),
    client_id   TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT environments_org_name UNIQUE (org_id, name)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organizations(id),
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    email         TEXT NOT NULL,
    phone_number  TEXT NULL,
    password_hash TEXT NULL,
    enabled       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login    INTEGER NULL
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (user_id, org_id)
);

CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
