-- Provenance embedded store (SQLite). Forward-only; never edit a released migration, add the next
-- number instead.
--
-- Conventions:
--   * timestamps are TEXT, RFC 3339 UTC with exactly three fractional digits and `Z`
--     (`2025-01-31T12:00:00.000Z`), so they compare and sort correctly as text;
--   * JSON documents are TEXT holding serde_json of the domain type;
--   * ids are the prefixed ULIDs of provenance-core (`an_01J…`), so `ORDER BY id` is creation order;
--   * every tenant-scoped table carries `tenant_id` (directly or through its analysis).

CREATE TABLE tenants (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    scopes        TEXT NOT NULL,            -- JSON array of scope names
    tier          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
) STRICT;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);

CREATE TABLE analyses (
    id             TEXT    NOT NULL PRIMARY KEY,
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    repo           TEXT    NOT NULL,
    pr_number      INTEGER NOT NULL,
    base_sha       TEXT    NOT NULL,
    head_sha       TEXT    NOT NULL,
    branch         TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    error_code     TEXT,
    error_message  TEXT,
    report_mode    TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,        -- JSON object
    inputs_sha256  TEXT    NOT NULL,
    lines_total    INTEGER NOT NULL,
    findings_total INTEGER NOT NULL DEFAULT 0,
    outcome        TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    started_at     TEXT,
    completed_at   TEXT,
    -- A resubmission of the same inputs for the same PR head is the same analysis.
    UNIQUE (tenant_id, repo, pr_number, head_sha, inputs_sha256)
) STRICT;

-- list_analyses: newest first per tenant, optionally by repo (+ PR) or by status.
CREATE INDEX analyses_by_tenant ON analyses (tenant_id, id);
CREATE INDEX analyses_by_tenant_repo_pr ON analyses (tenant_id, repo, pr_number, id);
CREATE INDEX analyses_by_tenant_status ON analyses (tenant_id, status, id);
-- count_by_status (metrics) across tenants.
CREATE INDEX analyses_by_status ON analyses (status);

CREATE TABLE analysis_lines (
    analysis_id           TEXT    NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq                   INTEGER NOT NULL, -- submission order, from 0
    file_path             TEXT    NOT NULL,
    line_number           INTEGER NOT NULL,
    change_type           TEXT    NOT NULL,
    content               TEXT,
    language              TEXT,
    author_identity       TEXT,
    declared              TEXT,             -- JSON DeclaredAttribution
    content_sha256        TEXT,
    attestation_signature TEXT,
    attribution           TEXT    NOT NULL, -- JSON Attribution (unknown until resolved)
    PRIMARY KEY (analysis_id, seq)
) STRICT;

CREATE TABLE analysis_files (
    analysis_id TEXT    NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,           -- submission order, from 0
    path        TEXT    NOT NULL,
    content     TEXT    NOT NULL,
    PRIMARY KEY (analysis_id, seq)
) STRICT;

CREATE TABLE findings (
    analysis_id  TEXT    NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,          -- the order the worker reported them in, from 0
    id           TEXT    NOT NULL,
    rule_id      TEXT    NOT NULL,
    rule_version TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    file_path    TEXT    NOT NULL,
    start_line   INTEGER NOT NULL,
    end_line     INTEGER NOT NULL,
    start_column INTEGER NOT NULL,
    end_column   INTEGER NOT NULL,
    snippet      TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    attribution  TEXT    NOT NULL,          -- JSON Attribution
    engine       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    suppression  TEXT,                      -- JSON Suppression
    PRIMARY KEY (analysis_id, seq)
) STRICT;

CREATE UNIQUE INDEX findings_by_id ON findings (id);
-- Suppressions apply to later findings with the same fingerprint.
CREATE INDEX findings_by_fingerprint ON findings (fingerprint);

CREATE TABLE decisions (
    analysis_id TEXT NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    decision_id TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    decision    TEXT NOT NULL,              -- JSON Decision
    decided_at  TEXT NOT NULL
) STRICT;

CREATE TABLE bundles (
    analysis_id TEXT NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    envelope    TEXT NOT NULL               -- JSON DSSE envelope
) STRICT;

CREATE TABLE sarif_reports (
    analysis_id TEXT NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    sarif       TEXT NOT NULL               -- JSON SARIF 2.1.0 log
) STRICT;

CREATE TABLE idempotency_keys (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    key            TEXT    NOT NULL,
    request_sha256 TEXT    NOT NULL,
    analysis_id    TEXT    NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    -- 1 when the first answer was "deduplicated", so a replay answers the same way.
    deduplicated   INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT;

-- Retention sweeps forget keys older than 24 h.
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
-- Deleting an analysis cascades here.
CREATE INDEX idempotency_keys_by_analysis ON idempotency_keys (analysis_id);

CREATE TABLE outbox (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    topic        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at TEXT    NOT NULL,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT    NOT NULL,
    UNIQUE (topic, key)
) STRICT;

-- claim_outbox: the oldest due row of a topic (rowid breaks ties); outbox_depth: count per topic.
CREATE INDEX outbox_by_topic_due ON outbox (topic, available_at);
