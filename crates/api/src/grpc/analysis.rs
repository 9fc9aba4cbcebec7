//! `AnalysisService`: each method runs the same function as its REST route
//! (`routes::analyses`, `routes::results`), so the two faces answer the same input the same way.

use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::Stream;
use provenance_core::decision::{Coverage, Decision, RiskSummary};
use provenance_core::dsse::Envelope;
use provenance_core::{AnalysisStatus, Outcome};
use provenance_proto::v1;
use provenance_proto::v1::analysis_service_server::AnalysisService;
use serde_json::{Map, Value as Json, json};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use super::json::{json_to_struct, struct_to_json};
use super::principal;
use super::time::{optional, timestamp};
use crate::error::ApiError;
use crate::routes::analyses::{self, AnalysisView, DecisionSummary, ListQuery, SubmitAnalysisResponse};
use crate::routes::results;
use crate::state::AppState;

/// How often a watched analysis that has not settled is read again (a settled one is noticed at
/// once).
const WATCH_POLL: Duration = Duration::from_secs(1);

pub struct Analyses {
    state: AppState,
}

impl Analyses {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type AnalysisStream = Pin<Box<dyn Stream<Item = Result<v1::Analysis, Status>> + Send>>;

#[tonic::async_trait]
impl AnalysisService for Analyses {
    async fn submit(&self, request: Request<v1::SubmitRequest>) -> Result<Response<v1::SubmitResponse>, Status> {
        let principal = principal(&request)?;
        let headers = request.metadata().clone().into_headers();
        let body = serde_json::to_vec(&submission_json(request.into_inner()))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let idempotency = analyses::idempotency_key(&headers, &body)?;
        let accepted = analyses::accept(&self.state, &principal, &body, idempotency).await?;
        let view: SubmitAnalysisResponse =
            serde_json::from_str(&accepted.body).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut response = Response::new(v1::SubmitResponse {
            analysis_id: view.analysis_id.to_string(),
            status: status(view.status).into(),
            status_url: view.status_url,
            deduplicated: view.deduplicated,
        });
        if accepted.replayed {
            response.metadata_mut().insert("idempotent-replayed", MetadataValue::from_static("true"));
        }
        Ok(response)
    }

    async fn get(&self, request: Request<v1::GetAnalysisRequest>) -> Result<Response<v1::Analysis>, Status> {
        let principal = principal(&request)?;
        let view = analyses::view(&self.state, &principal, &request.get_ref().analysis_id, None).await?;
        Ok(Response::new(analysis(view)))
    }

    async fn get_decision(&self, request: Request<v1::GetAnalysisRequest>) -> Result<Response<v1::Decision>, Status> {
        let principal = principal(&request)?;
        let d = results::load_decision(&self.state, &principal, &request.get_ref().analysis_id).await?;
        Ok(Response::new(decision(d)))
    }

    async fn get_bundle(&self, request: Request<v1::GetAnalysisRequest>) -> Result<Response<v1::Bundle>, Status> {
        let principal = principal(&request)?;
        let stored = results::load_bundle(&self.state, &principal, &request.get_ref().analysis_id).await?;
        Ok(Response::new(bundle(&stored)?))
    }

    async fn get_sarif(&self, request: Request<v1::GetAnalysisRequest>) -> Result<Response<v1::Sarif>, Status> {
        let principal = principal(&request)?;
        let sarif_json = results::load_sarif(&self.state, &principal, &request.get_ref().analysis_id).await?;
        Ok(Response::new(v1::Sarif { sarif_json }))
    }

    async fn list_analyses(
        &self,
        request: Request<v1::ListAnalysesRequest>,
    ) -> Result<Response<v1::ListAnalysesResponse>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let page = r.page.unwrap_or_default();
        let status = v1::AnalysisStatus::try_from(r.status).unwrap_or(v1::AnalysisStatus::Unspecified);
        let query = ListQuery {
            repo: r.repo,
            pr_number: r.pr_number.map(|n| n.to_string()),
            status: status_filter(status).map(str::to_string),
            limit: (page.limit > 0).then_some(page.limit),
            cursor: (!page.cursor.is_empty()).then_some(page.cursor),
        };
        let list = analyses::list_views(&self.state, &principal, query).await?;
        Ok(Response::new(v1::ListAnalysesResponse {
            items: list.items.into_iter().map(analysis).collect(),
            next_cursor: list.next_cursor.unwrap_or_default(),
        }))
    }

    type WatchAnalysisStream = AnalysisStream;

    async fn watch_analysis(
        &self,
        request: Request<v1::GetAnalysisRequest>,
    ) -> Result<Response<Self::WatchAnalysisStream>, Status> {
        let principal = principal(&request)?;
        let id = request.into_inner().analysis_id;
        let state = self.state.clone();
        // Subscribe before the first read, so a change between the two is not missed.
        let mut settled = state.store.settled_analyses();
        // The first read answers errors (not found, no scope) as the call's status.
        let first = analyses::view(&state, &principal, &id, None).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut last = first.status;
            let mut terminal = last.is_terminal();
            if tx.send(Ok(analysis(first))).await.is_err() {
                return;
            }
            while !terminal {
                tokio::select! {
                    () = tx.closed() => return,
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                    received = settled.recv() => match received {
                        Ok(settled_id) if settled_id.as_str() != id => continue,
                        _ => {}
                    },
                }
                let item = match analyses::view(&state, &principal, &id, None).await {
                    Ok(view) if view.status == last => continue,
                    Ok(view) => {
                        last = view.status;
                        terminal = last.is_terminal();
                        Ok(analysis(view))
                    }
                    Err(e) => {
                        terminal = true;
                        Err(e.to_status())
                    }
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

/// The submission as the JSON body `POST /v1/analysis` would receive: unset fields absent.
fn submission_json(r: v1::SubmitRequest) -> Json {
    let mut body = Map::new();
    put(&mut body, "repo", r.repo);
    put(&mut body, "pr_number", r.pr_number);
    put(&mut body, "base_sha", r.base_sha);
    put(&mut body, "head_sha", r.head_sha);
    put(&mut body, "branch", r.branch);
    if let Some(data) = r.provenance_data {
        let lines: Vec<Json> = data.changed_lines.into_iter().map(changed_line_json).collect();
        body.insert("provenance_data".into(), json!({ "changed_lines": lines }));
    }
    put(&mut body, "diff", r.diff);
    if !r.files.is_empty() {
        let files = r
            .files
            .into_iter()
            .map(|f| {
                let mut file = Map::new();
                put(&mut file, "path", f.path);
                put(&mut file, "content", f.content);
                Json::Object(file)
            })
            .collect();
        body.insert("files".into(), Json::Array(files));
    }
    put(&mut body, "report_mode", r.report_mode);
    if let Some(metadata) = r.metadata {
        body.insert("metadata".into(), Json::Object(struct_to_json(&metadata)));
    }
    if !r.attribution_sources.is_empty() {
        let sources = r.attribution_sources.into_iter().map(source_json).collect();
        body.insert("attribution_sources".into(), Json::Array(sources));
    }
    Json::Object(body)
}

fn put<T: Into<Json>>(map: &mut Map<String, Json>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

fn changed_line_json(l: v1::ChangedLine) -> Json {
    let mut line = Map::new();
    put(&mut line, "file_path", l.file_path);
    put(&mut line, "line_number", l.line_number);
    put(&mut line, "change_type", l.change_type);
    put(&mut line, "content", l.content);
    put(&mut line, "language", l.language);
    put(&mut line, "author_identity", l.author_identity);
    put(&mut line, "timestamp", l.timestamp);
    if let Some(a) = l.attribution {
        let mut attribution = Map::new();
        put(&mut attribution, "agent_id", a.agent_id);
        put(&mut attribution, "agent_version", a.agent_version);
        put(&mut attribution, "agent_session_id", a.agent_session_id);
        put(&mut attribution, "commit_sha", a.commit_sha);
        put(&mut attribution, "commit_line", a.commit_line);
        put(&mut attribution, "provenance_marker", a.provenance_marker);
        put(&mut attribution, "contributor", a.contributor);
        put(&mut attribution, "model_id", a.model_id);
        put(&mut attribution, "session_id", a.session_id);
        line.insert("attribution".into(), Json::Object(attribution));
    }
    put(&mut line, "content_sha256", l.content_sha256);
    put(&mut line, "attestation_signature", l.attestation_signature);
    Json::Object(line)
}

/// One attribution source; an empty one becomes `{}`, which the parser reports as missing its
/// `type`, by pointer.
fn source_json(s: v1::AttributionSource) -> Json {
    use v1::attribution_source::Source;
    let mut out = Map::new();
    match s.source {
        Some(Source::Commit(c)) => {
            out.insert("type".into(), "commit".into());
            out.insert("sha".into(), c.sha.into());
            put(&mut out, "author_name", c.author_name);
            put(&mut out, "author_email", c.author_email);
            out.insert("message".into(), c.message.into());
        }
        Some(Source::GitAiNote(n)) => {
            out.insert("type".into(), "git_ai_note".into());
            put(&mut out, "commit_sha", n.commit_sha);
            out.insert("note".into(), n.note.into());
        }
        Some(Source::AgentTrace(t)) => {
            out.insert("type".into(), "agent_trace".into());
            let record = t.record.map_or(Json::Null, |r| Json::Object(struct_to_json(&r)));
            out.insert("record".into(), record);
        }
        None => {}
    }
    Json::Object(out)
}

fn status(s: AnalysisStatus) -> v1::AnalysisStatus {
    match s {
        AnalysisStatus::Queued => v1::AnalysisStatus::Queued,
        AnalysisStatus::Running => v1::AnalysisStatus::Running,
        AnalysisStatus::Completed => v1::AnalysisStatus::Completed,
        AnalysisStatus::Failed => v1::AnalysisStatus::Failed,
    }
}

fn status_filter(s: v1::AnalysisStatus) -> Option<&'static str> {
    match s {
        v1::AnalysisStatus::Unspecified => None,
        v1::AnalysisStatus::Queued => Some(AnalysisStatus::Queued.as_str()),
        v1::AnalysisStatus::Running => Some(AnalysisStatus::Running.as_str()),
        v1::AnalysisStatus::Completed => Some(AnalysisStatus::Completed.as_str()),
        v1::AnalysisStatus::Failed => Some(AnalysisStatus::Failed.as_str()),
    }
}

fn outcome(o: Outcome) -> i32 {
    match o {
        Outcome::Allow => v1::Outcome::Allow,
        Outcome::Warn => v1::Outcome::Warn,
        Outcome::Block => v1::Outcome::Block,
    }
    .into()
}

fn analysis(v: AnalysisView) -> v1::Analysis {
    v1::Analysis {
        id: v.id.to_string(),
        status: status(v.status).into(),
        repo: v.repo.to_string(),
        pr_number: v.pr_number,
        base_sha: v.base_sha,
        head_sha: v.head_sha,
        branch: v.branch.unwrap_or_default(),
        report_mode: v.report_mode.as_str().to_string(),
        lines_total: v.lines_total,
        findings_total: v.findings_total,
        risk_summary: v.risk_summary.map(risk_summary),
        decision: v.decision.map(decision_summary),
        error: v.error.map(|e| v1::AnalysisError { code: e.code, message: e.message }),
        metadata: Some(json_to_struct(&v.metadata)),
        created_at: Some(timestamp(v.created_at)),
        updated_at: Some(timestamp(v.updated_at)),
        started_at: optional(v.started_at),
        completed_at: optional(v.completed_at),
        purged_at: optional(v.purged_at),
    }
}

fn decision_summary(d: DecisionSummary) -> v1::DecisionSummary {
    v1::DecisionSummary {
        outcome: outcome(d.outcome),
        effective_outcome: outcome(d.effective_outcome),
        fired_rules: d
            .fired_rules
            .into_iter()
            .map(|r| v1::FiredRuleSummary { rule: r.rule, outcome: outcome(r.outcome), reason: r.reason })
            .collect(),
        r#override: d.override_.map(|o| v1::Override {
            id: o.id,
            reason: o.reason,
            overridden_by: o.overridden_by,
            created_at: Some(timestamp(o.created_at)),
        }),
    }
}

fn risk_summary(r: RiskSummary) -> v1::RiskSummary {
    v1::RiskSummary {
        findings_total: r.findings_total,
        suppressed_total: r.suppressed_total,
        by_severity: r.by_severity.into_iter().collect(),
        by_category: r.by_category.into_iter().collect(),
        by_agent: r.by_agent.into_iter().collect(),
    }
}

fn coverage(c: Coverage) -> v1::Coverage {
    v1::Coverage {
        lines_total: c.lines_total,
        lines_attributed: c.lines_attributed,
        ai_lines: c.ai_lines,
        human_lines: c.human_lines,
        mixed_lines: c.mixed_lines,
        unknown_lines: c.unknown_lines,
        percent: c.percent,
        by_source: c.by_source.into_iter().collect(),
        flagged: c.flagged.into_iter().collect(),
    }
}

fn decision(d: Decision) -> v1::Decision {
    v1::Decision {
        id: d.id.to_string(),
        analysis_id: d.analysis_id.to_string(),
        outcome: outcome(d.outcome),
        fired_rules: d
            .fired_rules
            .into_iter()
            .map(|r| v1::FiredRule {
                rule: r.rule,
                outcome: outcome(r.outcome),
                reason: r.reason,
                finding_ids: r.finding_ids.iter().map(ToString::to_string).collect(),
                lines: r
                    .lines
                    .into_iter()
                    .map(|l| v1::LineRef { file_path: l.file_path.to_string(), line_number: l.line_number })
                    .collect(),
            })
            .collect(),
        risk_summary: Some(risk_summary(d.risk_summary)),
        coverage: Some(coverage(d.coverage)),
        agent_lines: d.agent_lines.into_iter().collect(),
        policy: Some(v1::PolicyRef { id: d.policy.id, version: d.policy.version, sha256: d.policy.sha256 }),
        detectors: d
            .detectors
            .into_iter()
            .map(|r| v1::DetectorRef { name: r.name, version: r.version, rulepack_sha256: r.rulepack_sha256 })
            .collect(),
        detectors_incomplete: d.detectors_incomplete,
        timings_ms: d.timings_ms.into_iter().collect(),
        decided_at: Some(timestamp(d.decided_at)),
    }
}

/// The stored envelope with its payload and signatures decoded, and its JSON as REST serves it.
fn bundle(stored: &Json) -> Result<v1::Bundle, Status> {
    let corrupt = |what: &str| ApiError::Internal(format!("stored bundle has an invalid {what}"));
    let envelope: Envelope = serde_json::from_value(stored.clone()).map_err(|_| corrupt("envelope"))?;
    let payload = STANDARD.decode(&envelope.payload).map_err(|_| corrupt("payload"))?;
    let signatures = envelope
        .signatures
        .into_iter()
        .map(|s| {
            let sig = STANDARD.decode(&s.sig).map_err(|_| corrupt("signature"))?;
            Ok(v1::Signature { keyid: s.keyid, sig })
        })
        .collect::<Result<_, ApiError>>()?;
    let envelope_json = serde_json::to_vec(stored).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(v1::Bundle { payload_type: envelope.payload_type, payload, signatures, envelope_json })
}
