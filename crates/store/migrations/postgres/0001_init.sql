-- Provenance system of record (PostgreSQL). Forward-only; never edit a released migration, add
-- the next number instead. The schema mirrors migrations/sqlite (0001 + 0002) table for table and
-- column for column, so both stores keep the same semantics.
--
-- Conventions:
--   * timestamps are timestamptz, written with millisecond precision (like the SQLite store);
--   * JSON documents are jsonb holding serde_json of the domain type (read back as text);
--   * ids are the prefixed ULIDs of provenance-core (`an_01J…`), so `ORDER BY id` is creation order;
--   * every integer is bigint (u32/u64 domain values round-trip through i64);
--   * every tenant-scoped table carries `tenant_id` (directly or through its analysis).

CREATE TABLE tenants (
    id         text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id            text        NOT NULL PRIMARY KEY,
    tenant_id     text        NOT NULL REFERENCES tenants (id),
    name          text        NOT NULL,
    secret_sha256 text        NOT NULL,
    scopes        jsonb       NOT NULL,     -- array of scope names
    tier          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- list_api_keys (oldest first per tenant); also serves the foreign key.
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);

CREATE TABLE analyses (
    id             text        NOT NULL PRIMARY KEY,
    tenant_id      text        NOT NULL REFERENCES tenants (id),
    repo           text        NOT NULL,
    pr_number      bigint      NOT NULL,
    base_sha       text        NOT NULL,
    head_sha       text        NOT NULL,
    branch         text,
    status         text        NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    error_code     text,
    error_message  text,
    report_mode    text        NOT NULL,
    metadata       jsonb       NOT NULL,    -- object
    inputs_sha256  text        NOT NULL,
    lines_total    bigint      NOT NULL,
    findings_total bigint      NOT NULL DEFAULT 0,
    outcome        text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    started_at     timestamptz,
    completed_at   timestamptz,
    -- Last sign of life of the worker running it (set by mark_running and heartbeat).
    heartbeat_at   timestamptz,
    -- A resubmission of the same inputs for the same PR head is the same analysis; concurrent
    -- identical submissions meet here (INSERT … ON CONFLICT DO NOTHING).
    CONSTRAINT analyses_dedup UNIQUE (tenant_id, repo, pr_number, head_sha, inputs_sha256)
);

-- list_analyses: newest first per tenant, optionally by repo (+ PR) or by status.
CREATE INDEX analyses_by_tenant ON analyses (tenant_id, id);
CREATE INDEX analyses_by_tenant_repo_pr ON analyses (tenant_id, repo, pr_number, id);
CREATE INDEX analyses_by_tenant_status ON analyses (tenant_id, status, id);
-- requeue_stale (running by heartbeat age) and count_by_status (its prefix).
CREATE INDEX analyses_by_status_heartbeat ON analyses (status, heartbeat_at);

CREATE TABLE analysis_lines (
    analysis_id           text   NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq                   bigint NOT NULL,  -- submission order, from 0
    file_path             text   NOT NULL,
    line_number           bigint NOT NULL,
    change_type           text   NOT NULL,
    content               text,
    language              text,
    author_identity       text,
    declared              jsonb,            -- DeclaredAttribution
    content_sha256        text,
    attestation_signature text,
    attribution           jsonb  NOT NULL,  -- Attribution (unknown until resolved)
    PRIMARY KEY (analysis_id, seq)
);

CREATE TABLE analysis_files (
    analysis_id text   NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,            -- submission order, from 0
    path        text   NOT NULL,
    content     text   NOT NULL,
    PRIMARY KEY (analysis_id, seq)
);

CREATE TABLE findings (
    analysis_id  text   NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,           -- the order the worker reported them in, from 0
    id           text   NOT NULL,
    rule_id      text   NOT NULL,
    rule_version text   NOT NULL,
    category     text   NOT NULL,
    severity     text   NOT NULL,
    message      text   NOT NULL,
    file_path    text   NOT NULL,
    start_line   bigint NOT NULL,
    end_line     bigint NOT NULL,
    start_column bigint NOT NULL,
    end_column   bigint NOT NULL,
    snippet      text   NOT NULL,
    fingerprint  text   NOT NULL,
    attribution  jsonb  NOT NULL,           -- Attribution
    engine       text   NOT NULL,
    status       text   NOT NULL,
    suppression  jsonb,                     -- Suppression
    PRIMARY KEY (analysis_id, seq)
);

CREATE UNIQUE INDEX findings_by_id ON findings (id);
-- Suppressions apply to later findings with the same fingerprint.
CREATE INDEX findings_by_fingerprint ON findings (fingerprint);

CREATE TABLE decisions (
    analysis_id text        NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    decision_id text        NOT NULL,
    outcome     text        NOT NULL,
    decision    jsonb       NOT NULL,       -- Decision
    decided_at  timestamptz NOT NULL
);

CREATE TABLE bundles (
    analysis_id text  NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    envelope    jsonb NOT NULL              -- DSSE envelope
);

CREATE TABLE sarif_reports (
    analysis_id text  NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    sarif       jsonb NOT NULL              -- SARIF 2.1.0 log
);

CREATE TABLE idempotency_keys (
    tenant_id      text        NOT NULL REFERENCES tenants (id),
    key            text        NOT NULL,
    request_sha256 text        NOT NULL,
    analysis_id    text        NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    -- true when the first answer was "deduplicated", so a replay answers the same way.
    deduplicated   boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Retention sweeps forget keys older than 24 h.
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
-- Deleting an analysis cascades here.
CREATE INDEX idempotency_keys_by_analysis ON idempotency_keys (analysis_id);

CREATE TABLE outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    payload      bytea       NOT NULL,
    attempts     bigint      NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL,
    CONSTRAINT outbox_message UNIQUE (topic, key)
);

-- claim_outbox: the oldest due row of a topic (id breaks ties); outbox_depth: count per topic.
CREATE INDEX outbox_by_topic_due ON outbox (topic, available_at, id);
