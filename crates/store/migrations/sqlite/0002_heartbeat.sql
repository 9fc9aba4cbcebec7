-- Stale-job recovery: a running analysis records when its worker last proved alive, and the
-- scheduler requeues the ones whose heartbeat is too old.

ALTER TABLE analyses ADD COLUMN heartbeat_at TEXT; -- same text format as every other timestamp

-- Analyses already running when this migration runs have not heartbeated yet: count their last
-- sign of life from when they started, so a job orphaned before the upgrade is recovered too.
UPDATE analyses SET heartbeat_at = COALESCE(started_at, updated_at) WHERE status = 'running';

-- requeue_stale: running analyses by heartbeat age; count_by_status uses its prefix, so the
-- status-only index is redundant.
CREATE INDEX analyses_by_status_heartbeat ON analyses (status, heartbeat_at);
DROP INDEX analyses_by_status;
