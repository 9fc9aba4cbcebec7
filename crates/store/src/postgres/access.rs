//! Tenants and API keys (`AccessRepository`), and the readiness ping.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{ApiKeyId, TenantId};

use super::rows::{API_KEY_COLUMNS, ApiKeyRow, to_json};
use super::{PostgresStore, opt_ts, ts};
use crate::error::{StoreError, StoreResult};
use crate::repository::{AccessRepository, ApiKeyRecord};

#[async_trait]
impl AccessRepository for PostgresStore {
    async fn ensure_tenant(&self, id: &TenantId, name: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id.as_str())
            .bind(name)
            .bind(ts(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, secret_sha256, scopes, tier, created_at, last_used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)",
        )
        .bind(key.id.as_str())
        .bind(key.tenant_id.as_str())
        .bind(&key.name)
        .bind(&key.secret_sha256)
        .bind(to_json(&key.scopes)?)
        .bind(key.tier.as_str())
        .bind(ts(key.created_at))
        .bind(opt_ts(key.last_used_at))
        .bind(opt_ts(key.revoked_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1");
        sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(ApiKeyRecord::try_from)
            .transpose()
    }

    async fn touch_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(ts(at))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Oldest first.
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id");
        sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(ApiKeyRecord::try_from)
            .collect()
    }

    /// Revoking an already revoked key keeps its first revocation time and answers `true`.
    async fn revoke_api_key(&self, tenant: &TenantId, id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND tenant_id = $3")
                .bind(ts(at))
                .bind(id.as_str())
                .bind(tenant.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Bounded by the acquire timeout as a whole (a half-open connection must not hang the
    /// readiness probe); a timeout reads as `PoolTimedOut`, i.e. unavailable.
    async fn ping(&self) -> StoreResult<()> {
        let query = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(self.acquire_timeout, query).await {
            Ok(answer) => {
                answer?;
                Ok(())
            }
            Err(_elapsed) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }
}
