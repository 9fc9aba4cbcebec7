//! The gRPC face of the API against the real embedded server: the same analyses, results and
//! errors as REST, on the same port. Each test crosses faces: it writes over one and reads over
//! the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use provenance_proto::status::{field_violations, reason};
use provenance_proto::v1;
use provenance_proto::v1::analysis_service_client::AnalysisServiceClient;
use provenance_proto::v1::webhook_service_client::WebhookServiceClient;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

mod support;

type Bearer = Box<dyn FnMut(Request<()>) -> Result<Request<()>, Status> + Send>;
type Authed = InterceptedService<Channel, Bearer>;

async fn channel(s: &TestServer) -> Channel {
    Channel::from_shared(s.server.base_url()).unwrap().connect().await.expect("the gRPC port answers")
}

fn bearer(token: Option<String>) -> Bearer {
    Box::new(move |mut request: Request<()>| {
        if let Some(token) = &token {
            let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    })
}

async fn analyses(s: &TestServer, token: Option<&str>) -> AnalysisServiceClient<Authed> {
    AnalysisServiceClient::with_interceptor(channel(s).await, bearer(token.map(str::to_string)))
}

async fn admin(s: &TestServer) -> AnalysisServiceClient<Authed> {
    analyses(s, Some(&s.server.admin_token)).await
}

/// The acceptance change: one AI-written line with an f-string SQL query.
fn sql_change(head_sha: &str) -> v1::SubmitRequest {
    v1::SubmitRequest {
        repo: Some("acme/shop".into()),
        pr_number: Some(42),
        base_sha: Some("abc123".into()),
        head_sha: Some(head_sha.into()),
        provenance_data: Some(v1::ProvenanceData {
            changed_lines: vec![v1::ChangedLine {
                file_path: Some("api/orders.py".into()),
                line_number: Some(128),
                change_type: Some("added".into()),
                content: Some("query = f\"SELECT * FROM orders WHERE id = {order_id}\"".into()),
                language: Some("python".into()),
                attribution: Some(v1::DeclaredAttribution {
                    agent_id: Some("claude-3-opus".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        }),
        metadata: Some(prost_types::Struct {
            fields: [(
                "ci_run".to_string(),
                prost_types::Value { kind: Some(prost_types::value::Kind::NumberValue(7.0)) },
            )]
            .into(),
        }),
        ..Default::default()
    }
}

/// The same change as the JSON body a REST client sends.
fn sql_change_json(head_sha: &str) -> Value {
    json!({
        "repo": "acme/shop", "pr_number": 42, "base_sha": "abc123", "head_sha": head_sha,
        "provenance_data": {"changed_lines": [{
            "file_path": "api/orders.py", "line_number": 128, "change_type": "added",
            "content": "query = f\"SELECT * FROM orders WHERE id = {order_id}\"", "language": "python",
            "attribution": {"agent_id": "claude-3-opus"}}]},
        "metadata": {"ci_run": 7}
    })
}

fn outcome_name(o: i32) -> &'static str {
    match v1::Outcome::try_from(o).unwrap() {
        v1::Outcome::Allow => "allow",
        v1::Outcome::Warn => "warn",
        v1::Outcome::Block => "block",
        v1::Outcome::Unspecified => "unspecified",
    }
}

/// Watch an analysis to its end; the statuses seen, in order.
async fn watch_to_end(client: &mut AnalysisServiceClient<Authed>, id: &str) -> Vec<v1::Analysis> {
    let mut stream =
        client.watch_analysis(v1::GetAnalysisRequest { analysis_id: id.into() }).await.unwrap().into_inner();
    let mut seen = Vec::new();
    let collect = async {
        while let Some(item) = stream.message().await.unwrap() {
            seen.push(item);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect).await.expect("the watch ends at a terminal status");
    seen
}

#[tokio::test]
async fn an_analysis_submitted_over_grpc_reads_the_same_over_rest() {
    let s = TestServer::start().await;
    let mut client = admin(&s).await;
    let accepted = client.submit(sql_change("def456")).await.unwrap().into_inner();
    assert!(accepted.analysis_id.starts_with("an_"));
    assert_eq!(accepted.status(), v1::AnalysisStatus::Queued);
    assert_eq!(accepted.status_url, format!("/v1/analysis/{}", accepted.analysis_id));
    assert!(!accepted.deduplicated);
    let id = accepted.analysis_id;

    let seen = watch_to_end(&mut client, &id).await;
    let last = seen.last().unwrap();
    assert_eq!(last.status(), v1::AnalysisStatus::Completed, "{seen:?}");
    let statuses: Vec<_> = seen.iter().map(v1::Analysis::status).collect();
    assert!(statuses.windows(2).all(|w| w[0] != w[1]), "only changes are streamed: {statuses:?}");

    // The analysis: every field REST shows has the same value over gRPC.
    let rest = s.get_json(&format!("/v1/analysis/{id}")).await;
    let grpc = client.get(v1::GetAnalysisRequest { analysis_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(rest["id"], grpc.id);
    assert_eq!(rest["status"], "completed");
    assert_eq!(rest["repo"], grpc.repo);
    assert_eq!(rest["pr_number"], grpc.pr_number);
    assert_eq!(rest["head_sha"], grpc.head_sha);
    assert_eq!(rest["report_mode"], grpc.report_mode);
    assert_eq!(rest["lines_total"], grpc.lines_total);
    assert_eq!(rest["findings_total"], grpc.findings_total);
    assert!(grpc.findings_total >= 1, "the SQL injection is found");
    assert_eq!(rest["metadata"], json!({"ci_run": 7}), "a protobuf number comes back as the JSON integer");
    let risk = grpc.risk_summary.as_ref().unwrap();
    assert_eq!(rest["risk_summary"]["by_severity"], json!(risk.by_severity));
    assert_eq!(rest["risk_summary"]["by_category"], json!(risk.by_category));
    assert_eq!(rest["risk_summary"]["by_agent"], json!(risk.by_agent));
    let summary = grpc.decision.as_ref().unwrap();
    assert_eq!(rest["decision"]["outcome"], outcome_name(summary.outcome));
    assert_eq!(rest["decision"]["effective_outcome"], outcome_name(summary.effective_outcome));
    let rest_rules: Vec<&str> =
        rest["decision"]["fired_rules"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    let grpc_rules: Vec<&str> = summary.fired_rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rest_rules, grpc_rules);
    assert!(!grpc_rules.is_empty());
    assert_eq!(rest["created_at"], chrono_of(grpc.created_at.as_ref().unwrap()));

    // The decision.
    let rest = s.get_json(&format!("/v1/analysis/{id}/decision")).await;
    let grpc = client.get_decision(v1::GetAnalysisRequest { analysis_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(rest["id"], grpc.id);
    assert_eq!(rest["outcome"], outcome_name(grpc.outcome));
    assert_eq!(rest["policy"]["sha256"], grpc.policy.as_ref().unwrap().sha256);
    assert_eq!(rest["coverage"]["ai_lines"], grpc.coverage.as_ref().unwrap().ai_lines);
    assert_eq!(rest["agent_lines"], json!(grpc.agent_lines));
    let cited: Vec<&str> = grpc.fired_rules.iter().flat_map(|r| r.finding_ids.iter().map(String::as_str)).collect();
    let rest_cited: Vec<&str> = rest["fired_rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["finding_ids"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()))
        .collect();
    assert_eq!(cited, rest_cited);
    let detectors: Vec<(&str, &str)> =
        grpc.detectors.iter().map(|d| (d.name.as_str(), d.rulepack_sha256.as_str())).collect();
    let rest_detectors: Vec<(&str, &str)> = rest["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["rulepack_sha256"].as_str().unwrap()))
        .collect();
    assert_eq!(detectors, rest_detectors);

    // The bundle and the SARIF log: byte for byte what REST serves.
    let rest_bundle = s.get(&format!("/v1/analysis/{id}/bundle")).await.bytes().await.unwrap();
    let bundle = client.get_bundle(v1::GetAnalysisRequest { analysis_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(bundle.envelope_json, rest_bundle.to_vec());
    assert_eq!(bundle.payload_type, "application/vnd.in-toto+json");
    let statement: Value = serde_json::from_slice(&bundle.payload).unwrap();
    assert_eq!(statement["predicate"]["analysis_id"], id, "{statement}");
    assert_eq!(bundle.signatures.len(), 1);
    assert_eq!(bundle.signatures[0].sig.len(), 64, "a raw Ed25519 signature");
    let rest_sarif = s.get(&format!("/v1/analysis/{id}/sarif")).await.bytes().await.unwrap();
    let sarif = client.get_sarif(v1::GetAnalysisRequest { analysis_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(sarif.sarif_json, rest_sarif.to_vec());

    // Listed on both faces.
    let listed = client
        .list_analyses(v1::ListAnalysesRequest {
            repo: Some("acme/shop".into()),
            status: v1::AnalysisStatus::Completed.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);
    let none = client
        .list_analyses(v1::ListAnalysesRequest { status: v1::AnalysisStatus::Failed.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(none.items.is_empty());
}

fn chrono_of(t: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap())
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[tokio::test]
async fn a_rest_submission_and_the_same_change_over_grpc_are_one_analysis() {
    let s = TestServer::start().await;
    let r = s.post("/v1/analysis", sql_change_json("fed789").to_string()).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();

    let mut client = admin(&s).await;
    let again = client.submit(sql_change("fed789")).await.unwrap().into_inner();
    assert!(again.deduplicated, "the same change is the same submission on both faces");
    assert_eq!(again.analysis_id, id);
    assert_eq!(s.analyses_count().await, 1);

    // An Idempotency-Key works as metadata too: the retry is answered from the first response.
    let mut first = Request::new(sql_change("0123abcd"));
    first.metadata_mut().insert("idempotency-key", MetadataValue::from_static("retry-1"));
    let first = client.submit(first).await.unwrap();
    assert!(first.metadata().get("idempotent-replayed").is_none());
    let mut retry = Request::new(sql_change("0123abcd"));
    retry.metadata_mut().insert("idempotency-key", MetadataValue::from_static("retry-1"));
    let retry = client.submit(retry).await.unwrap();
    assert_eq!(retry.metadata().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(retry.get_ref().analysis_id, first.get_ref().analysis_id);
    assert!(retry.metadata().get("x-request-id").is_some());
    assert_eq!(s.analyses_count().await, 2);
}

#[tokio::test]
async fn invalid_input_gets_the_same_fields_named_on_both_faces_and_stores_nothing() {
    let s = TestServer::start().await;
    let mut bad = sql_change_json("def456");
    bad.as_object_mut().unwrap().remove("head_sha");
    bad["provenance_data"]["changed_lines"][0]["file_path"] = json!("../etc/passwd");
    bad["report_mode"] = json!("everything");
    let problem = assert_problem(s.post("/v1/analysis", bad.to_string()).await, 422, "/head_sha").await;
    let mut rest_fields: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pointer"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap().to_string()))
        .collect();

    let mut request = sql_change("def456");
    request.head_sha = None;
    request.provenance_data.as_mut().unwrap().changed_lines[0].file_path = Some("../etc/passwd".into());
    request.report_mode = Some("everything".into());
    let status = admin(&s).await.submit(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status).as_deref(), Some("validation-error"));
    let mut grpc_fields = field_violations(&status);
    rest_fields.sort();
    grpc_fields.sort();
    assert_eq!(grpc_fields, rest_fields);
    assert!(grpc_fields.iter().any(|(f, _)| f == "/provenance_data/changed_lines/0/file_path"), "{grpc_fields:?}");
    assert_eq!(s.analyses_count().await, 0, "nothing stored");

    // Not found is not found, on both faces, for a malformed id too.
    for id in ["an_01JDQ7Z4V3K8M2N5P6R7S8T9VW", "nonsense"] {
        assert_eq!(s.get(&format!("/v1/analysis/{id}")).await.status(), 404);
        let status = admin(&s).await.get(v1::GetAnalysisRequest { analysis_id: id.into() }).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
}

#[tokio::test]
async fn keys_and_scopes_are_the_rest_ones() {
    let s = TestServer::start().await;
    let status = analyses(&s, None).await.submit(sql_change("def456")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = analyses(&s, Some("pvn_nope_nope")).await.submit(sql_change("def456")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.metadata().get("x-request-id").is_some(), "the request id is in the metadata");

    let reader: Value =
        s.post("/v1/api-keys", r#"{"name":"reader","scopes":["analysis:read"]}"#).await.json().await.unwrap();
    let mut reader = analyses(&s, reader["token"].as_str()).await;
    let status = reader.submit(sql_change("def456")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status).as_deref(), Some("forbidden"));
    assert_eq!(s.analyses_count().await, 0);

    // A result that is not ready is FAILED_PRECONDITION (REST: 409).
    let id = admin(&s).await.submit(sql_change("def456")).await.unwrap().into_inner().analysis_id;
    let listed = reader.list_analyses(v1::ListAnalysesRequest::default()).await.unwrap();
    // The key's tier is rate limited, and the REST headers come back as metadata.
    assert_eq!(listed.metadata().get("x-ratelimit-limit").unwrap(), "1000");
    assert_eq!(listed.into_inner().items.len(), 1);
    let _ = watch_to_end(&mut reader, &id).await;
    let decision = reader.get_decision(v1::GetAnalysisRequest { analysis_id: id }).await;
    assert!(decision.is_ok());
}

#[tokio::test]
async fn health_reflection_and_unknown_methods() {
    let s = TestServer::start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&s).await);
    for service in ["", "provenance.v1.AnalysisService", "provenance.v1.WebhookService"] {
        let r =
            health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status(), tonic_health::pb::health_check_response::ServingStatus::Serving, "{service:?}");
    }
    // A method the server does not have: UNIMPLEMENTED, not an HTTP error.
    let mut grpc = tonic::client::Grpc::new(channel(&s).await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/provenance.v1.AnalysisService/Nope");
    let codec = tonic_prost::ProstCodec::<v1::GetAnalysisRequest, v1::Analysis>::default();
    let status = grpc.unary(Request::new(v1::GetAnalysisRequest::default()), path, codec).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    // REST still answers on the same port.
    assert_eq!(s.get("/health/live").await.status(), 200);
    // Metrics name each gRPC method, but not an unknown one.
    let _ = admin(&s).await.list_analyses(v1::ListAnalysesRequest::default()).await.unwrap();
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"route="/provenance.v1.AnalysisService/ListAnalyses""#), "{metrics}");
    assert!(!metrics.contains("/Nope"));
}

#[tokio::test]
async fn webhook_endpoints_are_shared_between_faces() {
    let s = TestServer::start().await;
    let token = s.server.admin_token.clone();
    let mut hooks = WebhookServiceClient::with_interceptor(channel(&s).await, bearer(Some(token)));
    let created = hooks
        .create_endpoint(v1::CreateEndpointRequest {
            url: "https://hooks.example.com/provenance".into(),
            event_types: vec!["analysis.completed".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.secret.starts_with("whsec_"), "the secret is shown once, on create");
    let rest = s.get_json(&format!("/v1/webhooks/endpoints/{}", created.id)).await;
    assert_eq!(rest["url"], created.url);
    assert_eq!(rest["event_types"], json!(created.event_types));
    assert_eq!(rest["retry_schedule_seconds"], json!(created.retry_schedule_seconds));
    assert!(rest.get("secret").is_none());

    let updated = hooks
        .update_endpoint(v1::UpdateEndpointRequest {
            endpoint_id: created.id.clone(),
            enabled: Some(false),
            event_types: Some(v1::EventTypes { values: vec![] }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!updated.enabled);
    assert!(updated.event_types.is_empty() && updated.secret.is_empty());
    let listed = hooks.list_endpoints(v1::ListEndpointsRequest {}).await.unwrap().into_inner();
    assert_eq!(listed.items.len(), 1);
    let status = hooks.send_test(v1::EndpointRef { endpoint_id: created.id.clone() }).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "a disabled endpoint is a conflict (REST 409)");

    // The same invalid endpoint, the same pointers.
    assert_problem(s.post("/v1/webhooks/endpoints", r#"{"url":"ftp://x","event_types":["nope"]}"#).await, 422, "/url")
        .await;
    let status = hooks
        .create_endpoint(v1::CreateEndpointRequest {
            url: "ftp://x".into(),
            event_types: vec!["nope".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, vec!["/url", "/event_types/0"]);

    hooks.delete_endpoint(v1::EndpointRef { endpoint_id: created.id.clone() }).await.unwrap();
    assert_eq!(s.get(&format!("/v1/webhooks/endpoints/{}", created.id)).await.status(), 404);
}

#[tokio::test]
async fn a_second_listen_address_serves_the_same_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = provenance_cli::settings::Settings { data_dir: dir.path().join("data"), ..Default::default() };
    settings.http_listen = "127.0.0.1:0".parse().unwrap();
    settings.grpc_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = provenance_cli::embedded::start(&settings).await.unwrap();
    let second = server.grpc_addr.expect("the second listener is bound");
    assert_ne!(second, server.addr);
    let channel = Channel::from_shared(format!("http://{second}")).unwrap().connect().await.unwrap();
    let mut client = AnalysisServiceClient::with_interceptor(channel, bearer(Some(server.admin_token.clone())));
    let id = client.submit(sql_change("abcdef12")).await.unwrap().into_inner().analysis_id;
    // Read back on the main port, over REST.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/analysis/{id}", server.base_url()))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await.unwrap();
}
