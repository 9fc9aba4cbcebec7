//! The agent registry (`AgentKeyRepository`): attestation keys and the tenant's agent identities.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::identity::AgentIdentity;
use provenance_core::{AgentId, AgentKeyId, TenantId};

use super::SqliteStore;
use super::timestamps::{from_text, opt_from_text, opt_to_text, to_text};
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
    created_at: String,
    revoked_at: Option<String>,
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
            created_at: from_text(&r.created_at)?,
            revoked_at: opt_from_text(r.revoked_at.as_deref())?,
        })
    }
}

#[async_trait]
impl AgentKeyRepository for SqliteStore {
    async fn put_agent_identity(
        &self,
        tenant: &TenantId,
        identity: &AgentIdentity,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agent_identities (tenant_id, agent_id, marks, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant_id, agent_id) DO UPDATE SET marks = excluded.marks, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(identity.agent_id.as_str())
        .bind(identity_marks_json(identity)?)
        .bind(to_text(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_agent_identities(&self, tenant: &TenantId) -> StoreResult<Vec<AgentIdentity>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT agent_id, marks FROM agent_identities WHERE tenant_id = ? ORDER BY agent_id")
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(agent_id, marks)| identity_from_row(&agent_id, &marks)).collect()
    }

    async fn delete_agent_identity(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM agent_identities WHERE tenant_id = ? AND agent_id = ?")
            .bind(tenant.as_str())
            .bind(agent.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_agent_key(&self, key: &AgentKeyRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO agent_keys (id, tenant_id, agent_id, public_key, fingerprint, created_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(key.id.as_str())
        .bind(key.tenant_id.as_str())
        .bind(key.agent_id.as_str())
        .bind(&key.public_key)
        .bind(&key.fingerprint)
        .bind(to_text(key.created_at))
        .bind(opt_to_text(key.revoked_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_agent_keys(&self, tenant: &TenantId, agent: Option<&AgentId>) -> StoreResult<Vec<AgentKeyRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_keys WHERE tenant_id = ?1 AND (?2 IS NULL OR agent_id = ?2) \
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
            "UPDATE agent_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND tenant_id = ? AND agent_id = ?",
        )
        .bind(to_text(at))
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
