//! One trace from the request through the queue to the worker and its webhook (SPEC §8), in the
//! distributed system against the real PostgreSQL, RabbitMQ and Redis of this machine. Both
//! processes export their spans over OTLP to a small collector this test runs; the API is this
//! test process (its spans exported by the subscriber installed here), the worker a
//! `provenance-worker` process started with `PROVENANCE_OTLP_ENDPOINT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use provenance_store::telemetry::Telemetry;
use serde_json::{Value, json};
use support::System;
use support::receiver::{Receiver, verify};
use tracing_subscriber::layer::SubscriberExt;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";
/// The trace of a `POST /v1/detect` the API hands to the worker's `DetectorService`.
const DETECT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
}

/// An OTLP/gRPC trace collector on a loopback port that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Exported>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Exported {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

impl Collector {
    /// Serve on a loopback port; returns the collector and its endpoint URL.
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
        tokio::spawn(server);
        (collector, endpoint)
    }

    /// The spans of `trace`, once `done` holds of them (`flush` exports this process' spans).
    async fn wait_for(&self, trace: &str, flush: impl Fn(), done: impl Fn(&[Exported]) -> bool) -> Vec<Exported> {
        let started = Instant::now();
        loop {
            flush();
            let spans: Vec<Exported> =
                self.spans.lock().unwrap().iter().filter(|s| s.trace_id == trace).cloned().collect();
            if done(&spans) {
                return spans;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the trace is incomplete: {spans:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn one<'a>(spans: &'a [Exported], service: &str, name: &str) -> &'a Exported {
    let found: Vec<_> = spans.iter().filter(|s| s.service == service && s.name == name).collect();
    assert_eq!(found.len(), 1, "one {service} span {name:?} in {spans:#?}");
    found[0]
}

fn has(spans: &[Exported], service: &str, name: &str) -> bool {
    spans.iter().any(|s| s.service == service && s.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn one_trace_runs_from_the_request_through_the_queue_and_grpc_to_the_worker_and_its_webhook() {
    let (collector, endpoint) = Collector::start().await;
    // This process is the API: its request spans go to the collector as `provenance-api`.
    let telemetry = Telemetry::new("provenance-api", Some(&endpoint)).unwrap();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(telemetry.layer())).unwrap();
    // The worker's internal port, so that the API sends `POST /v1/detect` to its DetectorService.
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut system = System::start_with(|s| {
        s.webhook_allow_hosts = "127.0.0.1".into();
        s.otlp_endpoint = Some(endpoint.clone());
        s.worker.health_listen = internal;
        s.worker_grpc_url = Some(format!("http://{internal}"));
    })
    .await;
    let receiver = Receiver::answering(&[200]).await;
    let hook = system
        .post("/v1/webhooks/endpoints", &json!({"url": receiver.url, "event_types": ["analysis.completed"]}))
        .await;
    assert_eq!(hook.status(), 201);
    let hook: Value = hook.json().await.unwrap();
    system.spawn_worker();

    let body = json!({"repo": "acme/shop", "pr_number": 9, "base_sha": "4e1d2c3b", "head_sha": format!("{:040x}", 9),
        "provenance_data": {"changed_lines": [{"file_path": "app/main.py", "line_number": 1, "change_type": "added",
            "content": "print('hello')", "attribution": {"agent_id": "devin"}}]}});
    let submitted = system
        .http
        .post(format!("{}/v1/analysis", system.base_url))
        .bearer_auth(&system.admin_token)
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 202, "{}", submitted.text().await.unwrap());
    let id = submitted.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    let analysis = &system.wait_all_terminal(&[id], Duration::from_secs(60)).await[0];
    assert_eq!(analysis["status"], "completed", "{analysis}");

    // The webhook request carries the trace too.
    let delivered = receiver.wait_for(1, Duration::from_secs(60)).await;
    verify(hook["secret"].as_str().unwrap(), &delivered[0]);
    let sent = delivered[0].headers.get("traceparent").expect("a traceparent header").to_str().unwrap().to_string();
    assert!(sent.starts_with(&format!("00-{TRACE}-")), "{sent}");

    // A synchronous detection crosses gRPC from the API to the worker in the caller's trace.
    let detect = system
        .http
        .post(format!("{}/v1/detect", system.base_url))
        .bearer_auth(&system.admin_token)
        .header("traceparent", format!("00-{DETECT_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({"path": "app/db.py", "content": "cursor.execute(f\"SELECT * FROM t WHERE id = {x}\")\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(detect.status(), 200, "{}", detect.text().await.unwrap());
    let spans = collector
        .wait_for(
            DETECT_TRACE,
            || tokio::task::block_in_place(|| telemetry.flush()),
            |spans| has(spans, "provenance-api", "request") && has(spans, "provenance-worker", "internal"),
        )
        .await;
    let request = one(&spans, "provenance-api", "request");
    assert_eq!(request.parent_span_id, CLIENT_SPAN);
    let internal = one(&spans, "provenance-worker", "internal");
    let api_spans: Vec<&str> =
        spans.iter().filter(|s| s.service == "provenance-api").map(|s| s.span_id.as_str()).collect();
    assert!(api_spans.contains(&internal.parent_span_id.as_str()), "the worker's span continues the API's: {spans:#?}");

    let spans = collector
        .wait_for(
            TRACE,
            || tokio::task::block_in_place(|| telemetry.flush()),
            |spans| {
                has(spans, "provenance-api", "request")
                    && has(spans, "provenance-worker", "job")
                    && has(spans, "provenance-worker", "webhook.delivery")
            },
        )
        .await;
    // The request continues the client's span; the job continues a span of the request (the
    // message that crossed RabbitMQ carried it); the delivery continues the job (through the
    // outbox row the job wrote), and the receiver was told the delivery's span.
    let request = one(&spans, "provenance-api", "request");
    assert_eq!(request.parent_span_id, CLIENT_SPAN);
    let job = one(&spans, "provenance-worker", "job");
    let api_spans: Vec<&str> =
        spans.iter().filter(|s| s.service == "provenance-api").map(|s| s.span_id.as_str()).collect();
    assert!(api_spans.contains(&job.parent_span_id.as_str()), "the job's parent is an API span: {spans:#?}");
    let delivery = one(&spans, "provenance-worker", "webhook.delivery");
    let worker_spans: Vec<&str> =
        spans.iter().filter(|s| s.service == "provenance-worker").map(|s| s.span_id.as_str()).collect();
    assert!(worker_spans.contains(&delivery.parent_span_id.as_str()), "the delivery's parent is a worker span");
    assert_eq!(sent, format!("00-{TRACE}-{}-01", delivery.span_id));
    system.stop().await;
    telemetry.shutdown().await;
}
