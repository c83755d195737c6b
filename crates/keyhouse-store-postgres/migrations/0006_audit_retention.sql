-- Audit log retention and querying (PostgreSQL). Numbered in lockstep with
-- the SQLite migrations.

-- The retention purger deletes events older than a cutoff across every
-- organization: this index keeps that a range scan rather than a full scan.
-- Queries by organization use audit_events_org_id_at_idx (org_id, at, seq) from 0003.
CREATE INDEX audit_events_at_idx ON audit_events (at);
