-- The scheduler's duties (SPEC §9): delivery claims for the webhook retry pump, retention, and
-- a record of every duty's last run for `GET /v1/admin/scheduler`.

-- A delivery being attempted is claimed until then (the attempt timeout plus a margin), so two
-- copies of its job never post at once. Recording the attempt clears it.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TEXT;

-- `next_attempt_at` is now when a pending delivery is due, also before its first attempt.
UPDATE webhook_deliveries SET next_attempt_at = COALESCE(last_attempt_at, created_at)
WHERE status = 'pending' AND next_attempt_at IS NULL;

CREATE INDEX webhook_deliveries_pending_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (attempted_at);
CREATE INDEX webhook_messages_by_time ON webhook_messages (created_at);
CREATE INDEX webhook_endpoints_failing ON webhook_endpoints (failing_since) WHERE enabled;

-- Days of retention for the tenant; NULL = the operator's default (90).
ALTER TABLE tenants ADD COLUMN retention_days INTEGER CHECK (retention_days BETWEEN 1 AND 3650);

ALTER TABLE analyses ADD COLUMN purged_at TEXT;
CREATE INDEX analyses_by_created ON analyses (created_at);

CREATE TABLE scheduler_runs (
    job             TEXT    NOT NULL PRIMARY KEY,
    every_seconds   INTEGER NOT NULL,
    started_at      TEXT    NOT NULL,
    duration_ms     INTEGER NOT NULL,
    result          TEXT    NOT NULL CHECK (result IN ('ok', 'error')),
    items           INTEGER NOT NULL,
    error           TEXT,
    runner          TEXT    NOT NULL,
    runs            INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    last_success_at TEXT
) STRICT;
