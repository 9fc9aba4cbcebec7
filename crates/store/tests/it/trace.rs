//! Trace context through the outbox (SPEC §8): a row keeps the `traceparent` of the span that
//! wrote it, the embedded queue hands it to the consumer, and the relay publishes it as the
//! message's AMQP `traceparent` header.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use provenance_store::amqp::{AmqpConnection, AmqpSettings, Topology};
use provenance_store::queue::{EmbeddedQueue, JobQueue};
use provenance_store::relay::{OutboxRelay, RelaySettings};
use provenance_store::telemetry::Telemetry;
use provenance_store::topics;
use provenance_store::trace_context::{self, set_parent_from};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::*;
use crate::webhooks::{endpoint, event};

both_backends!(
    an_outbox_row_keeps_the_traceparent_of_the_span_that_wrote_it,
    webhook_deliveries_queued_by_a_job_continue_the_jobs_trace,
);

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const LEASE: Duration = Duration::from_secs(30);

/// Spans with OpenTelemetry contexts on this thread (the tests' runtime is single-threaded).
fn traced() -> tracing::subscriber::DefaultGuard {
    let telemetry = Telemetry::new("provenance-store-test", None).unwrap();
    tracing::subscriber::set_default(tracing_subscriber::registry().with(telemetry.layer()))
}

/// A span continuing the client's trace, as the API's request span does.
fn request_span() -> tracing::Span {
    let span = tracing::info_span!("request");
    assert!(set_parent_from(&span, CLIENT_SPAN));
    span
}

async fn an_outbox_row_keeps_the_traceparent_of_the_span_that_wrote_it(s: TestStore) {
    let _traced = traced();
    let t = tenant(&s).await;
    let span = request_span();
    let expected = trace_context::traceparent(&span).unwrap();
    assert!(expected.contains(TRACE));
    let new = new_analysis(&t, 7, "def456", 1);
    submitted(&s, &new).instrument(span).await;
    // Written outside any span: no trace to continue.
    let untraced = new_analysis(&t, 8, "def456", 1);
    submitted(&s, &untraced).await;

    let queue = EmbeddedQueue::new(s.as_dyn(), topics::ANALYSIS_JOBS, LEASE, Duration::from_secs(1));
    let delivery = queue.receive().await.unwrap();
    assert_eq!(delivery.key, new.id.to_string());
    assert_eq!(delivery.traceparent.as_deref(), Some(expected.as_str()));
    // A retried job keeps its trace.
    queue.retry(&delivery, Duration::ZERO, "transient").await.unwrap();
    let mut traces = BTreeMap::new();
    for _ in 0..2 {
        let d = queue.receive().await.unwrap();
        traces.insert(d.key.clone(), d.traceparent.clone());
        queue.ack(&d).await.unwrap();
    }
    assert_eq!(traces, BTreeMap::from([(new.id.to_string(), Some(expected)), (untraced.id.to_string(), None)]));
}

async fn webhook_deliveries_queued_by_a_job_continue_the_jobs_trace(s: TestStore) {
    let _traced = traced();
    let t = tenant(&s).await;
    let hook = endpoint(&t, &["analysis.completed", "decision.block"]);
    s.insert_endpoint(&hook).await.unwrap();
    let analysis = submitted(&s, &new_analysis(&t, 1, "abc1234", 1)).await;

    // The worker's job span, a child of the request that queued the job.
    let job = tracing::info_span!("job");
    assert!(set_parent_from(&job, CLIENT_SPAN));
    let expected = trace_context::traceparent(&job).unwrap();
    let input = s.load_job_input(&analysis.id).await.unwrap().unwrap();
    let mut result = result_for(&input, Utc::now());
    result.events = vec![event("analysis.completed")];
    s.complete_analysis(&result).instrument(job.clone()).await.unwrap();
    // And an event emitted on its own (an API request, say).
    s.emit_events(&t, &[event("decision.block")], Utc::now()).instrument(job).await.unwrap();

    for _ in 0..2 {
        let row = s.claim_outbox(topics::WEBHOOK_DELIVERIES, LEASE).await.unwrap().unwrap();
        assert_eq!(row.traceparent.as_deref(), Some(expected.as_str()), "{}", row.key);
    }
}

/// Needs RabbitMQ on both backends, so not `both_backends!` (which always runs SQLite).
mod the_relay_publishes_the_rows_traceparent_as_the_message_header {
    use crate::support::{Backend, run};

    #[tokio::test]
    #[ignore = "needs services: RabbitMQ"]
    async fn sqlite() {
        run(Backend::Sqlite, super::the_relay_publishes_the_rows_traceparent_as_the_message_header).await;
    }

    #[tokio::test]
    #[ignore = "needs services: PostgreSQL, RabbitMQ"]
    async fn postgres() {
        run(Backend::Postgres, super::the_relay_publishes_the_rows_traceparent_as_the_message_header).await;
    }
}

fn amqp_url() -> String {
    std::env::var("PROVENANCE_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

async fn the_relay_publishes_the_rows_traceparent_as_the_message_header(s: TestStore) {
    let _traced = traced();
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 1);
    let span = request_span();
    let expected = trace_context::traceparent(&span).unwrap();
    submitted(&s, &new).instrument(span).await;

    let topology = Topology::new(&format!("t{}.", ulid::Ulid::new().to_string().to_lowercase()));
    let connection = AmqpConnection::start(AmqpSettings::new(amqp_url()).with_topology(topology.clone())).unwrap();
    let outcome = async {
        connection.wait_ready(Duration::from_secs(20)).await.unwrap();
        let relay = OutboxRelay::new(s.as_dyn(), Arc::new(connection.publisher()), RelaySettings::default());
        assert_eq!(relay.drain().await.unwrap(), 1);
        let queue = connection.queue(topics::ANALYSIS_JOBS);
        let delivery = tokio::time::timeout(Duration::from_secs(10), queue.receive()).await.unwrap().unwrap();
        assert_eq!(delivery.key, new.id.to_string());
        assert_eq!(delivery.traceparent.as_deref(), Some(expected.as_str()));
        queue.ack(&delivery).await.unwrap();
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    // Remove the test's exchanges and queues, also when it failed.
    if let Ok(channel) = connection.open_channel().await {
        let _ = topology.delete(&channel).await;
    }
    connection.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
