-- Identity providers per organization and federated sign-in (SQLite).
-- Numbered in lockstep with the PostgreSQL migrations. Single-use secrets
-- (the `state` of a pending sign-in, its browser-binding cookie) are stored
-- only as their SHA-256 hash.

-- An organization's identity providers. `kind` names the protocol; `config`
-- holds its settings as a JSON object (never a secret); `secret` is the client
-- secret at the upstream, kept usable because it is sent to the upstream's
-- token endpoint, and never returned by the API.
CREATE TABLE identity_providers (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('oidc', 'saml')),
    name       TEXT NOT NULL,
    -- Lower-cased name: carries the rule that names are unique per org regardless of case.
    name_key   TEXT NOT NULL,
    config     TEXT NOT NULL,
    secret     TEXT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT identity_providers_org_name UNIQUE (org_id, name_key)
);
CREATE INDEX identity_providers_org_created ON identity_providers(org_id, created_at, id);

-- Who a person is at an upstream provider (its `sub`), and the Keyhouse user
-- they became on their first sign-in (just-in-time provisioning).
CREATE TABLE federated_identities (
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX federated_identities_user ON federated_identities(user_id);

-- Federated sign-ins in flight: consumed once by the callback, ten minutes at most.
CREATE TABLE federation_states (
    state_hash    BLOB PRIMARY KEY NOT NULL CHECK (length(state_hash) = 32),
    provider_id   TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    binding_hash  BLOB NOT NULL CHECK (length(binding_hash) = 32),
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    request       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX federation_states_expiry ON federation_states(expires_at);
CREATE INDEX federation_states_provider ON federation_states(provider_id);
