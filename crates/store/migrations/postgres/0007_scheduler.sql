-- The scheduler's duties (SPEC §9): delivery claims for the webhook retry pump, retention, and
-- a record of every duty's last run for `GET /v1/admin/scheduler`.

-- A delivery being attempted is claimed until then (the attempt timeout plus a margin), so two
-- copies of its job (a redelivery after a crash, a job the retry pump re-published) never post
-- at once. Recording the attempt clears it.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until timestamptz;

-- `next_attempt_at` is now when a pending delivery is due, also before its first attempt.
UPDATE webhook_deliveries SET next_attempt_at = COALESCE(last_attempt_at, created_at)
WHERE status = 'pending' AND next_attempt_at IS NULL;

-- The retry pump: pending deliveries by due time.
CREATE INDEX webhook_deliveries_pending_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Retention: attempts and messages by age.
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (attempted_at);
CREATE INDEX webhook_messages_by_time ON webhook_messages (created_at);
-- The auto-disable sweep: enabled endpoints failing since before a time.
CREATE INDEX webhook_endpoints_failing ON webhook_endpoints (failing_since) WHERE enabled;

-- Days an analysis keeps its lines, files, findings and SARIF, and webhook attempts and messages
-- are kept; NULL = the operator's default (90). Decisions and bundles stay a year at least.
ALTER TABLE tenants ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 3650);

-- When retention removed the analysis' lines, files, findings and SARIF (its decision and
-- bundle stay until the analysis itself is deleted).
ALTER TABLE analyses ADD COLUMN purged_at timestamptz;
CREATE INDEX analyses_by_created ON analyses (created_at);

-- Each scheduler duty's last run, by whichever worker ran it.
CREATE TABLE scheduler_runs (
    job           text        NOT NULL PRIMARY KEY,
    every_seconds bigint      NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   bigint      NOT NULL,
    result        text        NOT NULL CHECK (result IN ('ok', 'error')),
    items         bigint      NOT NULL, -- what the run did (rows published, requeued, deleted …)
    error         text,
    runner        text        NOT NULL, -- host and process id of the worker
    runs          bigint      NOT NULL,
    failures      bigint      NOT NULL,
    last_success_at timestamptz
);
