-- Identity providers per organization and federated sign-in (PostgreSQL).
-- Numbered in lockstep with the SQLite backend: same tables, same column names.
-- Single-use secrets (the `state` of a pending sign-in, its browser-binding
-- cookie) are stored only as their SHA-256 hash.

-- An organization's identity providers. `kind` names the protocol; `config`
-- holds its settings as a JSON object (never a secret); `secret` is the client
-- secret at the upstream, kept usable because it is sent to the upstream's
-- token endpoint, and never returned by the API.
CREATE TABLE identity_providers (
    id         UUID   NOT NULL,
    org_id     UUID   NOT NULL,
    kind       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    -- Lower-cased name: carries the rule that names are unique per org regardless of case.
    name_key   TEXT   NOT NULL,
    config     JSONB  NOT NULL,
    secret     TEXT   NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT identity_providers_pkey PRIMARY KEY (id),
    CONSTRAINT identity_providers_kind_check CHECK (kind IN ('oidc', 'saml')),
    CONSTRAINT identity_providers_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT identity_providers_org_id_name_key_key UNIQUE (org_id, name_key)
);
CREATE INDEX identity_providers_org_id_created_at_idx ON identity_providers (org_id, created_at, id);

-- Who a person is at an upstream provider (its `sub`), and the Keyhouse user
-- they became on their first sign-in (just-in-time provisioning).
CREATE TABLE federated_identities (
    provider_id UUID   NOT NULL,
    subject     TEXT   NOT NULL,
    user_id     UUID   NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT federated_identities_pkey PRIMARY KEY (provider_id, subject),
    CONSTRAINT federated_identities_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES identity_providers (id) ON DELETE CASCADE,
    CONSTRAINT federated_identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX federated_identities_user_id_idx ON federated_identities (user_id);

-- Federated sign-ins in flight: consumed once by the callback, ten minutes at most.
CREATE TABLE federation_states (
    state_hash    BYTEA  NOT NULL,
    provider_id   UUID   NOT NULL,
    binding_hash  BYTEA  NOT NULL,
    nonce         TEXT   NOT NULL,
    pkce_verifier TEXT   NOT NULL,
    request       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    CONSTRAINT federation_states_pkey PRIMARY KEY (state_hash),
    CONSTRAINT federation_states_state_hash_check CHECK (octet_length(state_hash) = 32),
    CONSTRAINT federation_states_binding_hash_check CHECK (octet_length(binding_hash) = 32),
    CONSTRAINT federation_states_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES identity_providers (id) ON DELETE CASCADE
);
CREATE INDEX federation_states_expires_at_idx ON federation_states (expires_at);
CREATE INDEX federation_states_provider_id_idx ON federation_states (provider_id);
