-- Audit log retention and querying (SQLite). Numbered in lockstep with the
-- PostgreSQL migrations.

-- The retention purger deletes events older than a cutoff across every
-- organization: this index keeps that a range scan rather than a full scan.
-- Queries by organization use audit_events_org_at (org_id, at, seq) from 0003.
CREATE INDEX audit_events_at ON audit_events(at);
