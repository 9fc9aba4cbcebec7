//! The agent registry (`AgentKeyRepository`): attestation keys and the tenant's agent identities.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::identity::AgentIdentity;
use provenance_core::{AgentId, AgentKeyId, TenantId};

use super::{PostgresStore, opt_ts, ts};
use crate::error::StoreResult;
use crate::repository::{AgentKeyRecord, AgentKeyRepository};
use crate::row_codec::{corrupt, identity_from_row, identity_marks_json, parse_id};

const COLUMNS: &str = "id, tenant_id, agent_id, public_key, fingerprint, created_at, revoked_at";

#[derive(Debug, sqlx::FromRow)]
struct AgentKeyRow {
    id: String,
    tenant_id: String,
    agent_id: String,
    public_key: String,
    fingerprint: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<AgentKeyRow> for AgentKeyRecord {
    type Error = crate::error::StoreError;

    fn try_from(r: AgentKeyRow) -> StoreResult<Self> {
        Ok(AgentKeyRecord {
            id: parse_id("agent key id", &r.id)?,
            tenant_id: parse_id("tenant id", &r.tenant_id)?,
            agent_id: AgentId::parse(&r.agent_id).map_err(|e| corrupt("agent id", e))?,
            public_key: r.public_key,
            fingerprint: r.fingerprint,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[async_trait]
impl AgentKeyRepository for PostgresStore {
    async fn put_agent_identity(
        &self,
        tenant: &TenantId,
        identity: &AgentIdentity,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agent_identities (tenant_id, agent_id, marks, updated_at) VALUES ($1, $2, $3::jsonb, $4) \
             ON CONFLICT (tenant_id, agent_id) DO UPDATE SET marks = excluded.marks, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(identity.agent_id.as_str())
        .bind(identity_marks_json(identity)?)
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_agent_identities(&self, tenant: &TenantId) -> StoreResult<Vec<AgentIdentity>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT agent_id, marks::text FROM agent_identities WHERE tenant_id = $1 ORDER BY agent_id")
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(agent_id, marks)| identity_from_row(&agent_id, &marks)).collect()
    }

    async fn delete_agent_identity(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM agent_identities WHERE tenant_id = $1 AND agent_id = $2")
            .bind(tenant.as_str())
            .bind(agent.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_agent_key(&self, key: &AgentKeyRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO agent_keys (id, tenant_id, agent_id, public_key, fingerprint, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(key.id.as_str())
        .bind(key.tenant_id.as_str())
        .bind(key.agent_id.as_str())
        .bind(&key.public_key)
        .bind(&key.fingerprint)
        .bind(ts(key.created_at))
        .bind(opt_ts(key.revoked_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_agent_keys(&self, tenant: &TenantId, agent: Option<&AgentId>) -> StoreResult<Vec<AgentKeyRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_keys WHERE tenant_id = $1 AND ($2::text IS NULL OR agent_id = $2) \
             ORDER BY created_at, id"
        );
        sqlx::query_as::<_, AgentKeyRow>(&sql)
            .bind(tenant.as_str())
            .bind(agent.map(AgentId::as_str))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(AgentKeyRecord::try_from)
            .collect()
    }

    async fn revoke_agent_key(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        id: &AgentKeyId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE agent_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND tenant_id = $3 \
             AND agent_id = $4",
        )
        .bind(ts(at))
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
