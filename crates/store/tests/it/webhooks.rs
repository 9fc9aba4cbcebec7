//! Webhook endpoints, messages, deliveries and attempts (`WebhookRepository`), the same on both
//! stores; events queued through the outbox in the transaction that caused them.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use provenance_core::{MessageId, TenantId, WebhookEndpointId};
use provenance_store::{
    AttemptEffect, DeliveryStatus, PageRequest, WebhookAttemptRecord, WebhookEndpointRecord, WebhookEvent, topics,
};

use crate::support::*;

both_backends!(
    endpoints_are_stored_updated_and_deleted_per_tenant,
    events_reach_only_enabled_endpoints_that_subscribe,
    a_completion_queues_its_events_in_the_same_transaction,
    a_failure_and_a_suppression_queue_their_events_in_their_transactions,
    a_test_event_goes_to_one_enabled_endpoint_of_the_tenant,
    replays_restart_settled_deliveries_only,
    attempts_are_recorded_with_their_effect_on_delivery_and_endpoint,
);

pub(crate) fn endpoint(tenant: &TenantId, events: &[&str]) -> WebhookEndpointRecord {
    let now = millis(Utc::now());
    WebhookEndpointRecord {
        id: WebhookEndpointId::generate(),
        tenant_id: tenant.clone(),
        url: "https://hooks.example.com/provenance".into(),
        description: "ci".into(),
        event_types: events.iter().map(|e| (*e).to_string()).collect(),
        headers: BTreeMap::from([("x-team".to_string(), "platform".to_string())]),
        enabled: true,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        retry_schedule: Some(vec![1, 2, 3]),
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn event(event_type: &str) -> WebhookEvent {
    WebhookEvent {
        message_id: MessageId::generate(),
        event_type: event_type.into(),
        payload: format!(r#"{{"type":"{event_type}","timestamp":"2026-11-23T00:00:00Z","data":{{}}}}"#),
    }
}

async fn webhook_jobs(s: &TestStore) -> Vec<String> {
    let mut keys = Vec::new();
    while let Some(row) = s.claim_outbox(topics::WEBHOOK_DELIVERIES, Duration::from_secs(30)).await.unwrap() {
        let target = String::from_utf8(row.payload).unwrap();
        assert!(row.key.starts_with(&target), "the payload names the delivery: {target} for {}", row.key);
        keys.push(row.key);
    }
    keys.sort();
    keys
}

async fn endpoints_are_stored_updated_and_deleted_per_tenant(s: TestStore) {
    let t = tenant(&s).await;
    let mut e = endpoint(&t, &["decision.block"]);
    s.insert_endpoint(&e).await.unwrap();
    assert_eq!(s.get_endpoint(&t, &e.id).await.unwrap(), Some(e.clone()));
    let other = tenant(&s).await;
    assert_eq!(s.get_endpoint(&other, &e.id).await.unwrap(), None);
    assert!(s.list_endpoints(&other).await.unwrap().is_empty());

    e.enabled = false;
    e.previous_secret = Some(e.secret.clone());
    e.previous_secret_expires_at = Some(millis(Utc::now()));
    e.secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into();
    e.retry_schedule = None;
    assert!(s.update_endpoint(&e).await.unwrap());
    assert_eq!(s.list_endpoints(&t).await.unwrap(), vec![e.clone()]);
    let mut foreign = e.clone();
    foreign.tenant_id = other.clone();
    assert!(!s.update_endpoint(&foreign).await.unwrap(), "another tenant cannot change it");
    assert!(!s.delete_endpoint(&other, &e.id).await.unwrap());
    assert!(s.delete_endpoint(&t, &e.id).await.unwrap());
    assert_eq!(s.get_endpoint(&t, &e.id).await.unwrap(), None);
}

async fn events_reach_only_enabled_endpoints_that_subscribe(s: TestStore) {
    let t = tenant(&s).await;
    let all = endpoint(&t, &[]);
    let blocks = endpoint(&t, &["decision.block"]);
    let mut disabled = endpoint(&t, &[]);
    disabled.enabled = false;
    let elsewhere = endpoint(&tenant(&s).await, &[]);
    for e in [&all, &blocks, &disabled, &elsewhere] {
        s.insert_endpoint(e).await.unwrap();
    }
    let (completed, block) = (event("analysis.completed"), event("decision.block"));
    let queued = s.emit_events(&t, &[completed.clone(), block.clone()], Utc::now()).await.unwrap();
    assert_eq!(queued, 3);
    let mut expected = vec![
        format!("{}:{}", completed.message_id, all.id),
        format!("{}:{}", block.message_id, all.id),
        format!("{}:{}", block.message_id, blocks.id),
    ];
    expected.sort();
    assert_eq!(webhook_jobs(&s).await, expected);

    let target = s.load_delivery(&block.message_id, &blocks.id).await.unwrap().unwrap();
    assert_eq!((target.status, target.attempts), (DeliveryStatus::Pending, 0));
    assert_eq!(target.payload, block.payload);
    assert_eq!(target.endpoint, blocks);
    assert_eq!(s.load_delivery(&block.message_id, &disabled.id).await.unwrap(), None);

    // No subscriber: nothing is stored.
    assert_eq!(s.emit_events(&t, &[event("finding.suppressed")], Utc::now()).await.unwrap(), 1, "`all` takes it");
    assert_eq!(s.emit_events(&tenant(&s).await, &[event("decision.warn")], Utc::now()).await.unwrap(), 0);
}

async fn a_completion_queues_its_events_in_the_same_transaction(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &["analysis.completed"]);
    s.insert_endpoint(&hook).await.unwrap();
    let analysis = submitted(&s, &new_analysis(&t, 1, "abc1234", 1)).await;
    let input = s.load_job_input(&analysis.id).await.unwrap().unwrap();
    let mut result = result_for(&input, Utc::now());
    let completed = event("analysis.completed");
    result.events = vec![completed.clone(), event("decision.warn")];
    s.complete_analysis(&result).await.unwrap();
    assert_eq!(webhook_jobs(&s).await, vec![format!("{}:{}", completed.message_id, hook.id)]);
    // A redelivered job completes nothing again, and queues nothing.
    s.complete_analysis(&result).await.unwrap();
    assert!(webhook_jobs(&s).await.is_empty());
}

async fn attempts_are_recorded_with_their_effect_on_delivery_and_endpoint(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &["decision.block"]);
    s.insert_endpoint(&hook).await.unwrap();
    let watcher = endpoint(&t, &["endpoint.disabled"]);
    s.insert_endpoint(&watcher).await.unwrap();
    let m = event("decision.block");
    s.emit_events(&t, std::slice::from_ref(&m), Utc::now()).await.unwrap();
    webhook_jobs(&s).await;
    let at = millis(Utc::now());
    let attempt = |n: u32, code: Option<u16>, outcome: &str| WebhookAttemptRecord {
        id: 0,
        message_id: m.message_id.clone(),
        endpoint_id: hook.id.clone(),
        attempt: n,
        attempted_at: at,
        status_code: code,
        latency_ms: 12,
        outcome: outcome.into(),
        response: Some("oops".into()),
        error: None,
    };
    let failed = AttemptEffect {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(at + chrono::Duration::seconds(5)),
        endpoint_succeeded: false,
        disable_endpoint: None,
        events: Vec::new(),
    };
    s.record_attempt(&attempt(1, Some(500), "failed"), &failed).await.unwrap();
    let target = s.load_delivery(&m.message_id, &hook.id).await.unwrap().unwrap();
    assert_eq!((target.status, target.attempts), (DeliveryStatus::Pending, 1));
    assert_eq!(target.endpoint.failing_since, Some(at));

    let gone = AttemptEffect {
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        endpoint_succeeded: false,
        disable_endpoint: Some("the endpoint answered 410 Gone".into()),
        events: vec![event("endpoint.disabled")],
    };
    s.record_attempt(&attempt(2, Some(410), "gone"), &gone).await.unwrap();
    assert_eq!(
        webhook_jobs(&s).await,
        vec![format!("{}:{}", gone.events[0].message_id, watcher.id)],
        "queued with the attempt, for the endpoints that subscribe"
    );
    let endpoint = s.get_endpoint(&t, &hook.id).await.unwrap().unwrap();
    assert!(!endpoint.enabled);
    assert_eq!(endpoint.disabled_reason.as_deref(), Some("the endpoint answered 410 Gone"));

    let page = s.list_attempts(&t, &hook.id, &PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!((page.items[0].attempt, page.items[0].status_code), (2, Some(410)), "newest first");
    let cursor = page.next_cursor.unwrap();
    let rest = s.list_attempts(&t, &hook.id, &PageRequest::from_query(Some(5), Some(&cursor)).unwrap()).await.unwrap();
    assert_eq!(rest.items.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1]);
    assert!(s.list_attempts(&tenant(&s).await, &hook.id, &PageRequest::first(5)).await.unwrap().items.is_empty());

    let ok = AttemptEffect {
        status: DeliveryStatus::Delivered,
        next_attempt_at: None,
        endpoint_succeeded: true,
        disable_endpoint: None,
        events: Vec::new(),
    };
    s.record_attempt(&attempt(3, Some(200), "delivered"), &ok).await.unwrap();
    let target = s.load_delivery(&m.message_id, &hook.id).await.unwrap().unwrap();
    assert_eq!(target.status, DeliveryStatus::Delivered);
    assert_eq!(target.endpoint.failing_since, None);
}

async fn a_failure_and_a_suppression_queue_their_events_in_their_transactions(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &["analysis.failed", "finding.suppressed"]);
    s.insert_endpoint(&hook).await.unwrap();
    let analysis = submitted(&s, &new_analysis(&t, 1, "abc1234", 1)).await;
    let error = provenance_core::AnalysisError { code: "boom".into(), message: "it broke".into() };
    let failed = event("analysis.failed");
    s.fail_analysis(&analysis.id, &error, Utc::now(), std::slice::from_ref(&failed)).await.unwrap();
    assert_eq!(webhook_jobs(&s).await, vec![format!("{}:{}", failed.message_id, hook.id)]);
    // Already failed: nothing changes, nothing is queued.
    s.fail_analysis(&analysis.id, &error, Utc::now(), &[event("analysis.failed")]).await.unwrap();
    assert!(webhook_jobs(&s).await.is_empty());

    let suppression = provenance_core::suppression::FingerprintSuppression {
        id: provenance_core::SuppressionId::generate(),
        fingerprint: "fp".into(),
        finding_id: provenance_core::FindingId::generate(),
        rule_id: "r".into(),
        file_path: "a.py".into(),
        reason: "accepted".into(),
        suppressed_by: "key_a".into(),
        created_at: millis(Utc::now()),
        expires_at: None,
        revoked_at: None,
        revoked_by: None,
    };
    let suppressed = event("finding.suppressed");
    assert_eq!(s.insert_suppression(&t, &suppression, std::slice::from_ref(&suppressed)).await.unwrap(), None);
    assert_eq!(webhook_jobs(&s).await, vec![format!("{}:{}", suppressed.message_id, hook.id)]);
    // Refused (already suppressed): no event either.
    let again = provenance_core::suppression::FingerprintSuppression {
        id: provenance_core::SuppressionId::generate(),
        ..suppression
    };
    assert!(s.insert_suppression(&t, &again, &[event("finding.suppressed")]).await.unwrap().is_some());
    assert!(webhook_jobs(&s).await.is_empty());
}

async fn a_test_event_goes_to_one_enabled_endpoint_of_the_tenant(s: TestStore) {
    let t = tenant(&s).await;
    let target = endpoint(&t, &["decision.block"]);
    let bystander = endpoint(&t, &[]);
    let mut disabled = endpoint(&t, &[]);
    disabled.enabled = false;
    for e in [&target, &bystander, &disabled] {
        s.insert_endpoint(e).await.unwrap();
    }
    let test = event("webhook.test");
    assert!(s.emit_to_endpoint(&t, &target.id, &test, Utc::now()).await.unwrap());
    assert_eq!(webhook_jobs(&s).await, vec![format!("{}:{}", test.message_id, target.id)]);
    let loaded = s.load_delivery(&test.message_id, &target.id).await.unwrap().unwrap();
    assert_eq!(loaded.event_type, "webhook.test");
    assert!(!s.emit_to_endpoint(&t, &disabled.id, &event("webhook.test"), Utc::now()).await.unwrap());
    assert!(!s.emit_to_endpoint(&tenant(&s).await, &target.id, &event("webhook.test"), Utc::now()).await.unwrap());
    assert!(webhook_jobs(&s).await.is_empty());
}

async fn replays_restart_settled_deliveries_only(s: TestStore) {
    let t = tenant(&s).await;
    let (a, b) = (endpoint(&t, &[]), endpoint(&t, &[]));
    for e in [&a, &b] {
        s.insert_endpoint(e).await.unwrap();
    }
    let m = event("decision.block");
    s.emit_events(&t, std::slice::from_ref(&m), Utc::now()).await.unwrap();
    webhook_jobs(&s).await;
    let filter = provenance_store::ReplayFilter { message: Some(m.message_id.clone()), ..Default::default() };
    assert_eq!(s.replay_deliveries(&t, &filter, Utc::now()).await.unwrap(), 0, "pending deliveries are on their way");

    let settle = |endpoint: &WebhookEndpointRecord, status: DeliveryStatus| WebhookAttemptRecord {
        id: 0,
        message_id: m.message_id.clone(),
        endpoint_id: endpoint.id.clone(),
        attempt: 8,
        attempted_at: millis(Utc::now()),
        status_code: Some(if status == DeliveryStatus::Delivered { 200 } else { 500 }),
        latency_ms: 1,
        outcome: "x".into(),
        response: None,
        error: None,
    };
    for (e, status) in [(&a, DeliveryStatus::Exhausted), (&b, DeliveryStatus::Delivered)] {
        let effect = AttemptEffect {
            status,
            next_attempt_at: None,
            endpoint_succeeded: status == DeliveryStatus::Delivered,
            disable_endpoint: None,
            events: Vec::new(),
        };
        s.record_attempt(&settle(e, status), &effect).await.unwrap();
    }
    let failed_only = provenance_store::ReplayFilter {
        since: Some(Utc::now() - chrono::Duration::hours(1)),
        only_failed: true,
        ..Default::default()
    };
    assert_eq!(s.replay_deliveries(&tenant(&s).await, &failed_only, Utc::now()).await.unwrap(), 0, "per tenant");
    assert_eq!(s.replay_deliveries(&t, &failed_only, Utc::now()).await.unwrap(), 1);
    let keys = webhook_jobs(&s).await;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with(&format!("{}:{}:replay:", m.message_id, a.id)), "{keys:?}");
    let target = s.load_delivery(&m.message_id, &a.id).await.unwrap().unwrap();
    assert_eq!((target.status, target.attempts), (DeliveryStatus::Pending, 0));

    assert_eq!(s.replay_deliveries(&t, &filter, Utc::now()).await.unwrap(), 1, "the delivered one, on request");
    let listed = s.list_messages(&t, &PageRequest::first(10)).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let mut expected = vec![(a.id.clone(), DeliveryStatus::Pending, 0), (b.id.clone(), DeliveryStatus::Pending, 0)];
    expected.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
    assert_eq!(listed.items[0].deliveries, expected);
}
