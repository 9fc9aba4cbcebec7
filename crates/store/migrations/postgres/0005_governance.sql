-- Governance (SPEC §5): per-tenant policies as code, suppressions by fingerprint, and signed
-- overrides of block decisions.

-- Every version of every policy a tenant has stored; a decision names its policy by id, version
-- and digest, so old versions stay readable after an update or a delete.
CREATE TABLE policy_versions (
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    policy_id  text        NOT NULL,
    version    bigint      NOT NULL,
    source     text        NOT NULL, -- the document as submitted (YAML or JSON)
    document   text        NOT NULL, -- JSON of the parsed policy, id and version included
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL, -- the API key that stored it
    PRIMARY KEY (tenant_id, policy_id, version)
);

-- The active version of each of a tenant's policies (deleting a policy removes it from here only).
CREATE TABLE policies (
    tenant_id text   NOT NULL REFERENCES tenants (id),
    policy_id text   NOT NULL,
    version   bigint NOT NULL,
    PRIMARY KEY (tenant_id, policy_id),
    FOREIGN KEY (tenant_id, policy_id, version) REFERENCES policy_versions (tenant_id, policy_id, version)
);

CREATE TABLE suppressions (
    id            text        NOT NULL PRIMARY KEY,
    tenant_id     text        NOT NULL REFERENCES tenants (id),
    fingerprint   text        NOT NULL,
    finding_id    text        NOT NULL, -- the finding it was made from (kept if that analysis goes)
    rule_id       text        NOT NULL,
    file_path     text        NOT NULL,
    reason        text        NOT NULL,
    suppressed_by text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoked_by    text
);

-- At most one unrevoked suppression per fingerprint; it also serves the worker's lookup of the
-- active suppressions matching an analysis' findings.
CREATE UNIQUE INDEX suppressions_one_active ON suppressions (tenant_id, fingerprint) WHERE revoked_at IS NULL;
-- list_suppressions, newest first.
CREATE INDEX suppressions_by_tenant ON suppressions (tenant_id, id);

-- One override per analysis: the signed statement turning its block into an allowed merge.
CREATE TABLE overrides (
    analysis_id   text        NOT NULL PRIMARY KEY REFERENCES analyses (id) ON DELETE CASCADE,
    id            text        NOT NULL UNIQUE,
    reason        text        NOT NULL,
    overridden_by text        NOT NULL,
    created_at    timestamptz NOT NULL,
    bundle        text        NOT NULL  -- DSSE envelope of the override statement
);
