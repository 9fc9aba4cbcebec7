//! The tenant-facing reads of analyses and their results (`AnalysisRepository`). Every query
//! filters by tenant: another tenant's analysis reads as `None`.

use async_trait::async_trait;
use provenance_core::decision::Decision;
use provenance_core::{Analysis, AnalysisId, AnalysisStatus, ChangedLine, Finding, NewAnalysis, TenantId};
use sqlx::{Postgres, QueryBuilder};

use super::PostgresStore;
use super::rows::{ANALYSIS_COLUMNS, AnalysisRow, FINDING_COLUMNS, FindingRow, from_json, status_from, to_i64, to_u64};
use super::submission::{fetch_analysis, submit};
use crate::error::StoreResult;
use crate::line_chunks;
use crate::outbox::OutboxMessage;
use crate::page::{Page, PageRequest, keyed_page, seq_after};
use crate::repository::{AnalysisFilter, AnalysisRepository, IdempotencyKey, Submitted};

#[async_trait]
impl AnalysisRepository for PostgresStore {
    async fn submit_analysis(
        &self,
        new: &NewAnalysis,
        idempotency: Option<&IdempotencyKey>,
        job: &OutboxMessage,
    ) -> StoreResult<Submitted> {
        submit(self, new, idempotency, job).await
    }

    async fn get_analysis(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<Analysis>> {
        let mut conn = self.pool.acquire().await?;
        fetch_analysis(&mut conn, tenant, id).await
    }

    async fn list_analyses(
        &self,
        tenant: &TenantId,
        filter: &AnalysisFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Analysis>> {
        // Built per call so that only the filters in use appear in the SQL, and the planner picks
        // the index that matches them (tenant+repo+pr, tenant+status, or tenant alone).
        let mut q =
            QueryBuilder::<Postgres>::new(format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE tenant_id = "));
        q.push_bind(tenant.as_str());
        if let Some(repo) = &filter.repo {
            q.push(" AND repo = ").push_bind(repo.as_str());
        }
        if let Some(pr) = filter.pr_number {
            q.push(" AND pr_number = ").push_bind(to_i64("pr_number", pr)?);
        }
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(after) = &page.after {
            q.push(" AND id < ").push_bind(after.as_str());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit) + 1);
        let rows: Vec<AnalysisRow> = q.build_query_as().fetch_all(&self.pool).await?;
        let items = rows.into_iter().map(Analysis::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |a| a.id.to_string()))
    }

    async fn list_lines(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
        page: &PageRequest,
    ) -> StoreResult<Option<Page<ChangedLine>>> {
        if !self.is_tenants(tenant, id).await? {
            return Ok(None);
        }
        let Some(after) = seq_after(page) else { return Ok(Some(Page { items: Vec::new(), next_cursor: None })) };
        let (first, last) = line_chunks::chunk_range(after, page.limit);
        let chunks: Vec<(i64, String)> = sqlx::query_as(
            "SELECT chunk, lines FROM analysis_line_chunks WHERE analysis_id = $1 AND chunk BETWEEN $2 AND $3 \
             ORDER BY chunk",
        )
        .bind(id.as_str())
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(line_chunks::page(&chunks, after, page.limit)?))
    }

    async fn list_findings(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
        page: &PageRequest,
    ) -> StoreResult<Option<Page<Finding>>> {
        if !self.is_tenants(tenant, id).await? {
            return Ok(None);
        }
        let Some(after) = seq_after(page) else { return Ok(Some(Page { items: Vec::new(), next_cursor: None })) };
        let sql =
            format!("SELECT {FINDING_COLUMNS} FROM findings WHERE analysis_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        let rows: Vec<FindingRow> = sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(keyed_page(rows, page.limit, |r| r.seq, Finding::try_from)?))
    }

    async fn get_decision(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<Decision>> {
        let text = self.tenant_document("SELECT d.decision::text FROM decisions d", tenant, id).await?;
        text.map(|t| from_json("decision", &t)).transpose()
    }

    /// One statement: the decision row is joined in, so the pair is one snapshot.
    async fn get_analysis_with_decision(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
    ) -> StoreResult<Option<(Analysis, Option<Decision>)>> {
        let sql = format!(
            "SELECT {ANALYSIS_COLUMNS}, \
                 (SELECT d.decision::text FROM decisions d WHERE d.analysis_id = a.id AND a.status = 'completed') \
                 AS decision \
             FROM analyses a WHERE a.id = $1 AND a.tenant_id = $2"
        );
        let Some(row) = sqlx::query_as::<_, AnalysisDecisionRow>(&sql)
            .bind(id.as_str())
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let decision = row.decision.map(|t| from_json("decision", &t)).transpose()?;
        Ok(Some((Analysis::try_from(row.analysis)?, decision)))
    }

    async fn get_bundle(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<serde_json::Value>> {
        let text = self.tenant_document("SELECT d.envelope::text FROM bundles d", tenant, id).await?;
        text.map(|t| from_json("bundle", &t)).transpose()
    }

    async fn get_sarif(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<serde_json::Value>> {
        let text = self.tenant_document("SELECT d.sarif::text FROM sarif_reports d", tenant, id).await?;
        text.map(|t| from_json("sarif", &t)).transpose()
    }

    fn settled_analyses(&self) -> tokio::sync::broadcast::Receiver<AnalysisId> {
        self.subscribe_settled()
    }

    async fn count_by_status(&self) -> StoreResult<Vec<(AnalysisStatus, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM analyses GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(s, n)| Ok((status_from(&s)?, to_u64("count", n)?))).collect()
    }
}

#[derive(sqlx::FromRow)]
struct AnalysisDecisionRow {
    #[sqlx(flatten)]
    analysis: AnalysisRow,
    decision: Option<String>,
}

impl PostgresStore {
    /// Whether the analysis exists and belongs to the tenant.
    async fn is_tenants(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM analyses WHERE id = $1 AND tenant_id = $2)")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await?)
    }

    /// A one-per-analysis JSON document (`select` names it as `d.<column>::text` from a table
    /// aliased `d` keyed by `analysis_id`), if the analysis is the tenant's.
    async fn tenant_document(&self, select: &str, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<String>> {
        let sql =
            format!("{select} JOIN analyses a ON a.id = d.analysis_id WHERE d.analysis_id = $1 AND a.tenant_id = $2");
        Ok(sqlx::query_scalar(&sql).bind(id.as_str()).bind(tenant.as_str()).fetch_optional(&self.pool).await?)
    }
}
