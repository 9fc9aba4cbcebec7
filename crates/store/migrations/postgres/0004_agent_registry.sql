-- The agent registry (SPEC §3). Keys: public keys that verify the line attestations an agent
-- runtime signs. Revoked keys are kept (revoked_at set) so the registry tells its history.
CREATE TABLE agent_keys (
    id          text        NOT NULL PRIMARY KEY,
    tenant_id   text        NOT NULL REFERENCES tenants (id),
    agent_id    text        NOT NULL,
    public_key  text        NOT NULL, -- base64 of the raw 32-byte Ed25519 key
    fingerprint text        NOT NULL, -- hex sha256 of the raw key
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- list_agent_keys (per tenant, optionally per agent, oldest first); also serves the foreign key.
CREATE INDEX agent_keys_by_agent ON agent_keys (tenant_id, agent_id, created_at, id);

-- A key is active for at most one agent of a tenant at a time.
CREATE UNIQUE INDEX agent_keys_one_active ON agent_keys (tenant_id, fingerprint) WHERE revoked_at IS NULL;

-- A tenant's own agent identities (SPEC §3): the names, e-mails, bot logins and footers by which
-- commit metadata names its agents, matched before the shipped table.
CREATE TABLE agent_identities (
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    agent_id   text        NOT NULL,
    marks      jsonb       NOT NULL, -- {"names": [...], "emails": [...], "logins": [...], "footers": [...]}
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);
