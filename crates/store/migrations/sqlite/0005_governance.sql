-- Governance (SPEC §5): per-tenant policies as code, suppressions by fingerprint, and signed
-- overrides of block decisions.

-- Every version of every policy a tenant has stored; a decision names its policy by id, version
-- and digest, so old versions stay readable after an update or a delete.
CREATE TABLE policy_versions (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    policy_id  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    source     TEXT    NOT NULL, -- the document as submitted (YAML or JSON)
    document   TEXT    NOT NULL, -- JSON of the parsed policy, id and version included
    created_at TEXT    NOT NULL,
    created_by TEXT    NOT NULL, -- the API key that stored it
    PRIMARY KEY (tenant_id, policy_id, version)
) STRICT;

-- The active version of each of a tenant's policies (deleting a policy removes it from here only).
CREATE TABLE policies (
    tenant_id TEXT    NOT NULL REFERENCES tenants (id),
    policy_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, policy_id),
    FOREIGN KEY (tenant_id, policy_id, version) REFERENCES policy_versions (tenant_id, policy_id, version)
) STRICT;

CREATE TABLE suppressions (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    fingerprint   TEXT NOT NULL,
    finding_id    TEXT NOT NULL, -- the finding it was made from (kept if that analysis goes)
    rule_id       TEXT NOT NULL,
    file_path     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    suppressed_by TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    revoked_by    TEXT
) STRICT;

-- At most one unrevoked suppression per fingerprint; it also serves the worker's lookup of the
-- active suppressions matching an analysis' findings.
CREATE UNIQUE INDEX suppressions_one_active ON suppressions (tenant_id, fingerprint) WHERE revoked_at IS NULL;
-- list_suppressions, newest first.
CREATE INDEX suppressions_by_tenant ON suppressions (tenant_id, id);

-- One override per analysis: the signed statement turning its block into an allowed merge.
CREATE TABLE overrides (
    analysis_id   TEXT NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    id            TEXT NOT NULL UNIQUE,
    reason        TEXT NOT NULL,
    overridden_by TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    bundle        TEXT NOT NULL  -- DSSE envelope of the override statement
) STRICT;
