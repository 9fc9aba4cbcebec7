-- Webhooks (SPEC §6): endpoints per tenant, the messages events become, one delivery per
-- subscribed endpoint (queued through the outbox in the transaction that caused the event), and
-- every attempt.

CREATE TABLE webhook_endpoints (
    id                         TEXT    NOT NULL PRIMARY KEY,
    tenant_id                  TEXT    NOT NULL REFERENCES tenants (id),
    url                        TEXT    NOT NULL,
    description                TEXT    NOT NULL,
    event_types                TEXT    NOT NULL, -- JSON array of event types; [] = every event
    headers                    TEXT    NOT NULL, -- JSON object of custom headers
    enabled                    INTEGER NOT NULL,
    secret                     TEXT    NOT NULL, -- whsec_…
    previous_secret            TEXT,             -- also signed with until it expires
    previous_secret_expires_at TEXT,
    retry_schedule             TEXT,             -- JSON array of seconds; NULL = the default
    disabled_reason            TEXT,
    failing_since              TEXT,             -- first failure since the last success
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL
) STRICT;

CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_messages (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL, -- the exact body every attempt sends
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX webhook_messages_by_tenant ON webhook_messages (tenant_id, id);

CREATE TABLE webhook_deliveries (
    message_id      TEXT    NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'exhausted', 'skipped')),
    attempts        INTEGER NOT NULL,
    last_attempt_at TEXT,
    next_attempt_at TEXT,
    delivered_at    TEXT,
    created_at      TEXT    NOT NULL,
    PRIMARY KEY (message_id, endpoint_id)
) STRICT;

CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status, message_id);

CREATE TABLE webhook_attempts (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT    NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id  TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    attempted_at TEXT    NOT NULL,
    status_code  INTEGER,             -- NULL: no HTTP answer (refused, timeout, connection error)
    latency_ms   INTEGER NOT NULL,
    outcome      TEXT    NOT NULL,    -- delivered, failed, gone, retry_after, refused
    response     TEXT,                -- the first 4 KiB of the answer's body
    error        TEXT
) STRICT;

CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, id);
