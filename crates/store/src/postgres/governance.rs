//! Policies, suppressions and overrides (`GovernanceRepository`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::policy::Policy;
use provenance_core::suppression::FingerprintSuppression;
use provenance_core::{AnalysisId, Finding, FindingId, SuppressionId, TenantId};

use super::rows::{FINDING_COLUMNS, FindingRow};
use super::{PostgresStore, opt_ts, ts};
use crate::error::StoreResult;
use crate::page::{Page, PageRequest};
use crate::repository::{GovernanceRepository, OverrideRecord, PolicyRecord, WebhookEvent};
use crate::row_codec::{from_json, parse_id, to_json, to_u32};

const POLICY_COLUMNS: &str = "v.source, v.document, v.created_at, v.created_by";
const SUPPRESSION_COLUMNS: &str = "id, fingerprint, finding_id, rule_id, file_path, reason, suppressed_by, created_at, \
     expires_at, revoked_at, revoked_by";

#[derive(Debug, sqlx::FromRow)]
struct PolicyRow {
    source: String,
    document: String,
    created_at: DateTime<Utc>,
    created_by: String,
}

impl TryFrom<PolicyRow> for PolicyRecord {
    type Error = crate::error::StoreError;

    fn try_from(r: PolicyRow) -> StoreResult<Self> {
        Ok(PolicyRecord {
            policy: from_json("policy document", &r.document)?,
            source: r.source,
            created_at: r.created_at,
            created_by: r.created_by,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct SuppressionRow {
    id: String,
    fingerprint: String,
    finding_id: String,
    rule_id: String,
    file_path: String,
    reason: String,
    suppressed_by: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
}

impl TryFrom<SuppressionRow> for FingerprintSuppression {
    type Error = crate::error::StoreError;

    fn try_from(r: SuppressionRow) -> StoreResult<Self> {
        Ok(FingerprintSuppression {
            id: parse_id("suppression id", &r.id)?,
            fingerprint: r.fingerprint,
            finding_id: parse_id("finding id", &r.finding_id)?,
            rule_id: r.rule_id,
            file_path: r.file_path,
            reason: r.reason,
            suppressed_by: r.suppressed_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            revoked_by: r.revoked_by,
        })
    }
}

#[async_trait]
impl GovernanceRepository for PostgresStore {
    async fn put_policy(
        &self,
        tenant: &TenantId,
        policy: &Policy,
        source: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<PolicyRecord> {
        let mut tx = self.pool.begin().await?;
        // Puts of the same policy take turns, so each gets the next version.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('policy/' || $1 || '/' || $2, 0))")
            .bind(tenant.as_str())
            .bind(&policy.id)
            .execute(&mut *tx)
            .await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM policy_versions WHERE tenant_id = $1 AND policy_id = $2")
                .bind(tenant.as_str())
                .bind(&policy.id)
                .fetch_one(&mut *tx)
                .await?;
        let version = to_u32("policy version", last.unwrap_or(0))?.saturating_add(1);
        let mut stored = policy.clone();
        stored.version = version;
        sqlx::query(
            "WITH v AS ( \
                 INSERT INTO policy_versions (tenant_id, policy_id, version, source, document, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING tenant_id, policy_id, version \
             ) \
             INSERT INTO policies (tenant_id, policy_id, version) SELECT tenant_id, policy_id, version FROM v \
             ON CONFLICT (tenant_id, policy_id) DO UPDATE SET version = excluded.version",
        )
        .bind(tenant.as_str())
        .bind(&stored.id)
        .bind(i64::from(version))
        .bind(source)
        .bind(to_json(&stored)?)
        .bind(ts(at))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PolicyRecord { policy: stored, source: source.to_string(), created_at: ts(at), created_by: by.to_string() })
    }

    async fn list_policies(&self, tenant: &TenantId) -> StoreResult<Vec<PolicyRecord>> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM policies p JOIN policy_versions v USING (tenant_id, policy_id, version) \
             WHERE p.tenant_id = $1 ORDER BY p.policy_id"
        );
        sqlx::query_as::<_, PolicyRow>(&sql)
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(PolicyRecord::try_from)
            .collect()
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        policy_id: &str,
        version: Option<u32>,
    ) -> StoreResult<Option<PolicyRecord>> {
        let row = match version {
            None => {
                let sql = format!(
                    "SELECT {POLICY_COLUMNS} FROM policies p JOIN policy_versions v USING (tenant_id, policy_id, version) \
                     WHERE p.tenant_id = $1 AND p.policy_id = $2"
                );
                sqlx::query_as::<_, PolicyRow>(&sql)
                    .bind(tenant.as_str())
                    .bind(policy_id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            Some(version) => {
                let sql = format!(
                    "SELECT {POLICY_COLUMNS} FROM policy_versions v \
                     WHERE v.tenant_id = $1 AND v.policy_id = $2 AND v.version = $3"
                );
                sqlx::query_as::<_, PolicyRow>(&sql)
                    .bind(tenant.as_str())
                    .bind(policy_id)
                    .bind(i64::from(version))
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.map(PolicyRecord::try_from).transpose()
    }

    async fn delete_policy(&self, tenant: &TenantId, policy_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM policies WHERE tenant_id = $1 AND policy_id = $2")
            .bind(tenant.as_str())
            .bind(policy_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_finding(&self, tenant: &TenantId, id: &FindingId) -> StoreResult<Option<(AnalysisId, Finding)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            analysis_id: String,
            #[sqlx(flatten)]
            finding: FindingRow,
        }
        let sql = format!(
            "SELECT f.analysis_id, {} FROM findings f JOIN analyses a ON a.id = f.analysis_id \
             WHERE f.id = $1 AND a.tenant_id = $2",
            FINDING_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", ")
        );
        let Some(row) =
            sqlx::query_as::<_, Row>(&sql).bind(id.as_str()).bind(tenant.as_str()).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        Ok(Some((parse_id("analysis id", &row.analysis_id)?, Finding::try_from(row.finding)?)))
    }

    async fn insert_suppression(
        &self,
        tenant: &TenantId,
        s: &FingerprintSuppression,
        events: &[WebhookEvent],
    ) -> StoreResult<Option<FingerprintSuppression>> {
        let mut tx = self.pool.begin().await?;
        // An expired suppression gives way to the new one (kept, revoked, for the record).
        sqlx::query(
            "UPDATE suppressions SET revoked_at = $3, revoked_by = 'expired' \
             WHERE tenant_id = $1 AND fingerprint = $2 AND revoked_at IS NULL AND expires_at <= $3",
        )
        .bind(tenant.as_str())
        .bind(&s.fingerprint)
        .bind(ts(s.created_at))
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO suppressions (id, tenant_id, fingerprint, finding_id, rule_id, file_path, reason, \
             suppressed_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id, fingerprint) WHERE revoked_at IS NULL DO NOTHING",
        )
        .bind(s.id.as_str())
        .bind(tenant.as_str())
        .bind(&s.fingerprint)
        .bind(s.finding_id.as_str())
        .bind(&s.rule_id)
        .bind(&s.file_path)
        .bind(&s.reason)
        .bind(&s.suppressed_by)
        .bind(ts(s.created_at))
        .bind(opt_ts(s.expires_at))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let queued = if events.is_empty() {
                0
            } else {
                let sql = format!(
                    "WITH {} SELECT count(*) FROM queued",
                    super::webhooks::emit_events_ctes("$1::text", 2, "$5", "$6")
                );
                let (types, ids, payloads) = super::webhooks::event_columns(events);
                sqlx::query_scalar::<_, i64>(&sql)
                    .bind(tenant.as_str())
                    .bind(types)
                    .bind(ids)
                    .bind(payloads)
                    .bind(ts(s.created_at))
                    .bind(crate::trace_context::current_traceparent())
                    .fetch_one(&mut *tx)
                    .await?
            };
            tx.commit().await?;
            if queued > 0 {
                self.notify_outbox();
            }
            return Ok(None);
        }
        let sql = format!(
            "SELECT {SUPPRESSION_COLUMNS} FROM suppressions \
             WHERE tenant_id = $1 AND fingerprint = $2 AND revoked_at IS NULL"
        );
        let existing = sqlx::query_as::<_, SuppressionRow>(&sql)
            .bind(tenant.as_str())
            .bind(&s.fingerprint)
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(Some(existing.try_into()?))
    }

    async fn list_suppressions(
        &self,
        tenant: &TenantId,
        include_revoked: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<FingerprintSuppression>> {
        let sql = format!(
            "SELECT {SUPPRESSION_COLUMNS} FROM suppressions WHERE tenant_id = $1 \
             AND ($2 OR revoked_at IS NULL) AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query_as::<_, SuppressionRow>(&sql)
            .bind(tenant.as_str())
            .bind(include_revoked)
            .bind(page.after.as_deref())
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.into_iter().map(FingerprintSuppression::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |s| s.id.to_string()))
    }

    async fn revoke_suppression(
        &self,
        tenant: &TenantId,
        id: &SuppressionId,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE suppressions SET revoked_at = $3, revoked_by = $4 \
             WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(ts(at))
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn active_suppressions(
        &self,
        tenant: &TenantId,
        fingerprints: &[&str],
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<FingerprintSuppression>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {SUPPRESSION_COLUMNS} FROM suppressions WHERE tenant_id = $1 AND fingerprint = ANY($2) \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)"
        );
        sqlx::query_as::<_, SuppressionRow>(&sql)
            .bind(tenant.as_str())
            .bind(fingerprints)
            .bind(ts(at))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(FingerprintSuppression::try_from)
            .collect()
    }

    async fn insert_override(&self, record: &OverrideRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO overrides (analysis_id, id, reason, overridden_by, created_at, bundle) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (analysis_id) DO NOTHING",
        )
        .bind(record.analysis_id.as_str())
        .bind(record.id.as_str())
        .bind(&record.reason)
        .bind(&record.overridden_by)
        .bind(ts(record.created_at))
        .bind(to_json(&record.bundle)?)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_override(&self, tenant: &TenantId, analysis: &AnalysisId) -> StoreResult<Option<OverrideRecord>> {
        let row: Option<(String, String, String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT o.id, o.reason, o.overridden_by, o.created_at, o.bundle FROM overrides o \
             JOIN analyses a ON a.id = o.analysis_id WHERE o.analysis_id = $1 AND a.tenant_id = $2",
        )
        .bind(analysis.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, reason, overridden_by, created_at, bundle)| {
            Ok(OverrideRecord {
                id: parse_id("override id", &id)?,
                analysis_id: analysis.clone(),
                reason,
                overridden_by,
                created_at,
                bundle: from_json("override bundle", &bundle)?,
            })
        })
        .transpose()
    }
}
