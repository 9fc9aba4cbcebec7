-- The agent registry (SPEC §3). Keys: public keys that verify the line attestations an agent
-- runtime signs. Revoked keys are kept (revoked_at set) so the registry tells its history.
CREATE TABLE agent_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    agent_id    TEXT NOT NULL,
    public_key  TEXT NOT NULL, -- base64 of the raw 32-byte Ed25519 key
    fingerprint TEXT NOT NULL, -- hex sha256 of the raw key
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;

-- list_agent_keys (per tenant, optionally per agent, oldest first); also serves the foreign key.
CREATE INDEX agent_keys_by_agent ON agent_keys (tenant_id, agent_id, created_at, id);

-- A key is active for at most one agent of a tenant at a time.
CREATE UNIQUE INDEX agent_keys_one_active ON agent_keys (tenant_id, fingerprint) WHERE revoked_at IS NULL;

-- A tenant's own agent identities (SPEC §3): the names, e-mails, bot logins and footers by which
-- commit metadata names its agents, matched before the shipped table.
CREATE TABLE agent_identities (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    agent_id   TEXT NOT NULL,
    marks      TEXT NOT NULL, -- JSON {"names": [...], "emails": [...], "logins": [...], "footers": [...]}
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
) STRICT;
