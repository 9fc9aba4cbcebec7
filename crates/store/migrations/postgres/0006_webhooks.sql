-- Webhooks (SPEC §6): endpoints per tenant, the messages events become, one delivery per
-- subscribed endpoint (queued through the outbox in the transaction that caused the event), and
-- every attempt.

CREATE TABLE webhook_endpoints (
    id                         text        NOT NULL PRIMARY KEY,
    tenant_id                  text        NOT NULL REFERENCES tenants (id),
    url                        text        NOT NULL,
    description                text        NOT NULL,
    event_types                text        NOT NULL, -- JSON array of event types; [] = every event
    headers                    text        NOT NULL, -- JSON object of custom headers
    enabled                    boolean     NOT NULL,
    secret                     text        NOT NULL, -- whsec_…
    previous_secret            text,                 -- also signed with until it expires
    previous_secret_expires_at timestamptz,
    retry_schedule             text,                 -- JSON array of seconds; NULL = the default
    disabled_reason            text,
    failing_since              timestamptz,          -- first failure since the last success
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL
);

-- list_endpoints; and the subscribers of a tenant's event.
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_messages (
    id         text        NOT NULL PRIMARY KEY,
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    event_type text        NOT NULL,
    payload    text        NOT NULL, -- the exact body every attempt sends
    created_at timestamptz NOT NULL
);

CREATE INDEX webhook_messages_by_tenant ON webhook_messages (tenant_id, id);

CREATE TABLE webhook_deliveries (
    message_id      text        NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id     text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'exhausted', 'skipped')),
    attempts        bigint      NOT NULL,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (message_id, endpoint_id)
);

-- Deliveries of an endpoint by status (failed ones to replay).
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status, message_id);

CREATE TABLE webhook_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   text        NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id  text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempt      bigint      NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  bigint,                -- NULL: no HTTP answer (refused, timeout, connection error)
    latency_ms   bigint      NOT NULL,
    outcome      text        NOT NULL,  -- delivered, failed, gone, retry_after, refused
    response     text,                  -- the first 4 KiB of the answer's body
    error        text
);

CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_by_message ON webhook_attempts (message_id, id);
