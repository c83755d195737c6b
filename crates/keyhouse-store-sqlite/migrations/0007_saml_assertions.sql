-- SAML assertion ids already used, per identity provider (single use,
-- checklist SM-05), kept until the assertion expires. Lockstep with
-- keyhouse-store-postgres/migrations/0007_saml_assertions.sql.
CREATE TABLE saml_assertions (
    provider_id  TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (provider_id, assertion_id)
);
CREATE INDEX saml_assertions_expiry ON saml_assertions(expires_at);
