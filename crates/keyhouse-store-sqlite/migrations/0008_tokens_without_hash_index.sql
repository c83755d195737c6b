-- Issue 4: access tokens are no longer indexed by their hash here. In the
-- embedded store one process owns the file and holds every live token in
-- memory, so nothing looks a token up by hash on disk; the only use of that
-- index was deleting one token, which now goes through the expiry index
-- (`expires_at = ? AND token_hash = ?`). Tokens are 256-bit random, so
-- their hash index took every new token to a random B-tree leaf: one 4 KB
-- page written to the WAL (and later checkpointed) per token, the largest
-- cost of issuing one. Without it a batch of tokens appends to a few pages.
-- The indexes for users' and apps' tokens are partial: an app's own token
-- (no user) does not touch the user index, a login token (no app) not the
-- app index. PostgreSQL keeps its primary key: several nodes look tokens
-- up there on a cache miss.
CREATE TABLE access_tokens_new (
    token_hash BLOB NOT NULL,
    user_id    TEXT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NULL REFERENCES connected_apps(client_id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    scope      TEXT NULL,
    CONSTRAINT access_tokens_subject CHECK (user_id IS NOT NULL OR client_id IS NOT NULL)
);
INSERT INTO access_tokens_new (token_hash, user_id, client_id, org_id, created_at, expires_at, scope)
    SELECT token_hash, user_id, client_id, org_id, created_at, expires_at, scope
    FROM access_tokens ORDER BY created_at;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_new RENAME TO access_tokens;
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
CREATE INDEX access_tokens_client ON access_tokens(client_id) WHERE client_id IS NOT NULL;
CREATE INDEX access_tokens_user_client ON access_tokens(user_id, client_id) WHERE user_id IS NOT NULL;
