//! Tenants and API keys (`AccessRepository`), and the readiness ping.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{ApiKeyId, TenantId};

use super::SqliteStore;
use super::rows::{API_KEY_COLUMNS, ApiKeyRow, to_json};
use super::timestamps::{opt_to_text, to_text};
use crate::error::StoreResult;
use crate::repository::{AccessRepository, ApiKeyRecord};

#[async_trait]
impl AccessRepository for SqliteStore {
    async fn ensure_tenant(&self, id: &TenantId, name: &str) -> StoreResult<()> {
        sqlx::query("INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES (?, ?, ?)")
            .bind(id.as_str())
            .bind(name)
            .bind(to_text(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, secret_sha256, scopes, tier, created_at, last_used_at, \
             revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.as_str())
        .bind(key.tenant_id.as_str())
        .bind(&key.name)
        .bind(&key.secret_sha256)
        .bind(to_json(&key.scopes)?)
        .bind(key.tier.as_str())
        .bind(to_text(key.created_at))
        .bind(opt_to_text(key.last_used_at))
        .bind(opt_to_text(key.revoked_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?");
        sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(ApiKeyRecord::try_from)
            .transpose()
    }

    async fn touch_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(to_text(at))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Oldest first.
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id");
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
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND tenant_id = ?")
                .bind(to_text(at))
                .bind(id.as_str())
                .bind(tenant.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }
}
