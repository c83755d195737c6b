-- SAML assertion ids already used, per identity provider (single use,
-- checklist SM-05), kept until the assertion expires. Lockstep with
-- keyhouse-store-sqlite/migrations/0007_saml_assertions.sql.
CREATE TABLE saml_assertions (
    provider_id  UUID   NOT NULL,
    assertion_id TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL,
    CONSTRAINT saml_assertions_pkey PRIMARY KEY (provider_id, assertion_id),
    CONSTRAINT saml_assertions_provider_id_fkey FOREIGN KEY (provider_id)
        REFERENCES identity_providers (id) ON DELETE CASCADE
);
CREATE INDEX saml_assertions_expires_at_idx ON saml_assertions (expires_at);
