-- Keyhouse foundation schema (PostgreSQL).
-- Numbered in lockstep with the SQLite backend: same tables, same column names.
-- Timestamps are epoch milliseconds (BIGINT), as in keyhouse_core::time_fmt.
-- Constraint names are explicit: the store maps them to user-facing conflict messages.

CREATE TABLE organizations (
    id                      UUID    NOT NULL,
    name                    TEXT    NOT NULL,
    client_id               TEXT    NOT NULL,
    parent_id               UUID    NULL,
    root_id                 UUID    NOT NULL,
    owner_id                UUID    NOT NULL,
    domain                  TEXT    NULL,
    session_timeout_minutes INTEGER NOT NULL,
    entitlements            JSONB   NOT NULL,
    properties              JSONB   NOT NULL,
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL,
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_client_id_key UNIQUE (client_id),
    CONSTRAINT organizations_domain_key UNIQUE (domain),
    CONSTRAINT organizations_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES organizations (id)
);
CREATE INDEX organizations_root_id_idx ON organizations (root_id);
-- Lets the parent foreign-key check on delete use an index.
CREATE INDEX organizations_parent_id_idx ON organizations (parent_id);

CREATE TABLE environments (
    id         UUID   NOT NULL,
    org_id     UUID   NOT NULL,
    name       TEXT   NOT NULL,
    env_type   TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT environments_pkey PRIMARY KEY (id),
    CONSTRAINT environments_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT environments_env_type_check CHECK (env_type IN ('production', 'sandbox', 'design')),
    CONSTRAINT environments_client_id_key UNIQUE (client_id),
    CONSTRAINT environments_org_id_name_key UNIQUE (org_id, name)
);

CREATE TABLE users (
    id            UUID    NOT NULL,
    org_id        UUID    NOT NULL,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    phone_number  TEXT    NULL,
    password_hash TEXT    NULL,
    enabled       BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    last_login    BIGINT  NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id),
    CONSTRAINT users_username_key_key UNIQUE (username_key)
);
CREATE INDEX users_org_id_idx ON users (org_id);

CREATE TABLE memberships (
    user_id UUID NOT NULL,
    org_id  UUID NOT NULL,
    role    TEXT NOT NULL,
    CONSTRAINT memberships_pkey PRIMARY KEY (user_id, org_id),
    CONSTRAINT memberships_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT memberships_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT memberships_role_check CHECK (role IN ('admin', 'member'))
);
-- Lets the cascade from a deleted organization find its memberships by index.
CREATE INDEX memberships_org_id_idx ON memberships (org_id);

CREATE TABLE access_tokens (
    token_hash BYTEA  NOT NULL,
    user_id    UUID   NOT NULL,
    org_id     UUID   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT access_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT access_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT access_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);
-- Lets the cascade from a deleted user find their tokens by index.
CREATE INDEX access_tokens_user_id_idx ON access_tokens (user_id);
