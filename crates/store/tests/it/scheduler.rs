//! What the scheduler's duties rely on, the same on both stores: delivery claims, the webhook
//! retry pump, the auto-disable sweep, retention, and the record of duty runs.

use std::time::Duration;

use chrono::Utc;
use provenance_core::{AnalysisId, MessageId, TenantId, WebhookEndpointId};
use provenance_store::{
    AttemptEffect, DeliveryClaim, DeliveryStatus, PageRequest, RetentionRules, SchedulerRun, WebhookAttemptRecord,
    WebhookEndpointRecord, topics,
};

use crate::support::*;
use crate::webhooks::{endpoint, event};

both_backends!(
    a_delivery_is_claimed_by_one_attempt_at_a_time,
    the_retry_pump_requeues_only_deliveries_whose_job_is_lost,
    endpoints_failing_for_five_days_are_disabled_and_announced,
    retention_removes_details_first_and_records_after_a_year,
    scheduler_runs_keep_the_last_run_and_totals,
);

/// Claim (and complete, as a relay or the embedded queue would) every queued delivery job.
async fn take_jobs(s: &TestStore) -> Vec<String> {
    let mut keys = Vec::new();
    while let Some(row) = s.claim_outbox(topics::WEBHOOK_DELIVERIES, Duration::from_secs(30)).await.unwrap() {
        s.complete_outbox(row.id).await.unwrap();
        keys.push(row.key);
    }
    keys
}

fn attempt(m: &MessageId, e: &WebhookEndpointId, n: u32, at: chrono::DateTime<Utc>) -> WebhookAttemptRecord {
    WebhookAttemptRecord {
        id: 0,
        message_id: m.clone(),
        endpoint_id: e.clone(),
        attempt: n,
        attempted_at: at,
        status_code: Some(500),
        latency_ms: 3,
        outcome: "failed".into(),
        response: None,
        error: None,
    }
}

fn effect(status: DeliveryStatus, next: Option<chrono::DateTime<Utc>>) -> AttemptEffect {
    AttemptEffect {
        status,
        next_attempt_at: next,
        endpoint_succeeded: status == DeliveryStatus::Delivered,
        disable_endpoint: None,
        events: Vec::new(),
    }
}

async fn a_delivery_is_claimed_by_one_attempt_at_a_time(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &[]);
    s.insert_endpoint(&hook).await.unwrap();
    let m = event("decision.block");
    let now = millis(Utc::now());
    s.emit_events(&t, std::slice::from_ref(&m), now).await.unwrap();
    let (id, e) = (&m.message_id, &hook.id);
    let secs = chrono::Duration::seconds;

    let claim = |at: chrono::DateTime<Utc>| {
        let s = &s;
        async move { s.claim_delivery(id, e, at, at + secs(1), at + secs(35)).await.unwrap() }
    };
    match claim(now).await {
        DeliveryClaim::Claimed(target) => {
            assert_eq!((target.status, target.attempts), (DeliveryStatus::Pending, 0));
            assert_eq!(target.created_at, now, "when the event happened");
            assert_eq!(target.next_attempt_at, Some(now), "due from the start");
        }
        other => panic!("the first claim wins: {other:?}"),
    }
    assert_eq!(claim(now + secs(1)).await, DeliveryClaim::Busy { until: now + secs(35) }, "a second copy waits");
    assert!(matches!(claim(now + secs(36)).await, DeliveryClaim::Claimed(_)), "a claim that ran out is taken over");

    // The attempt failed: the claim ends and the delivery is due again in a minute.
    s.record_attempt(&attempt(id, e, 1, now + secs(37)), &effect(DeliveryStatus::Pending, Some(now + secs(97))))
        .await
        .unwrap();
    assert_eq!(claim(now + secs(38)).await, DeliveryClaim::NotDue { at: now + secs(97) });
    assert!(matches!(claim(now + secs(96)).await, DeliveryClaim::Claimed(_)), "due within the tolerance");
    s.record_attempt(&attempt(id, e, 2, now + secs(97)), &effect(DeliveryStatus::Delivered, None)).await.unwrap();
    assert_eq!(claim(now + secs(98)).await, DeliveryClaim::Settled(DeliveryStatus::Delivered));

    s.delete_endpoint(&t, e).await.unwrap();
    assert_eq!(claim(now + secs(99)).await, DeliveryClaim::Gone);
}

async fn the_retry_pump_requeues_only_deliveries_whose_job_is_lost(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &[]);
    s.insert_endpoint(&hook).await.unwrap();
    let (lost, claimed, fresh) = (event("decision.block"), event("decision.warn"), event("analysis.completed"));
    let long_ago = millis(Utc::now()) - chrono::Duration::hours(1);
    s.emit_events(&t, &[lost.clone(), claimed.clone()], long_ago).await.unwrap();
    let now = millis(Utc::now());
    let overdue_before = now - chrono::Duration::minutes(10);
    assert_eq!(s.pump_overdue_deliveries(overdue_before, now, 100).await.unwrap(), 0, "their jobs are queued");

    // The jobs leave the outbox (published, then lost with a broker); one delivery is being
    // attempted; a third, recent one is merely waiting its turn.
    assert_eq!(take_jobs(&s).await.len(), 2);
    s.emit_events(&t, std::slice::from_ref(&fresh), now).await.unwrap();
    take_jobs(&s).await;
    let c = chrono::Duration::seconds(35);
    assert!(matches!(
        s.claim_delivery(&claimed.message_id, &hook.id, now, now, now + c).await.unwrap(),
        DeliveryClaim::Claimed(_)
    ));

    assert_eq!(s.pump_overdue_deliveries(overdue_before, now, 100).await.unwrap(), 1);
    let jobs = take_jobs(&s).await;
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].starts_with(&format!("{}:{}:pump:", lost.message_id, hook.id)), "{jobs:?}");
    let target = s.load_delivery(&lost.message_id, &hook.id).await.unwrap().unwrap();
    assert_eq!(target.next_attempt_at, Some(now), "due now, so the pump leaves it be for a while");
    assert_eq!(s.pump_overdue_deliveries(overdue_before, now, 100).await.unwrap(), 0);

    // Long after, with no attempt made, it is pumped again; a settled delivery never is.
    let later = now + chrono::Duration::hours(1);
    s.record_attempt(&attempt(&claimed.message_id, &hook.id, 1, now), &effect(DeliveryStatus::Delivered, None))
        .await
        .unwrap();
    assert_eq!(s.pump_overdue_deliveries(later - chrono::Duration::minutes(10), later, 100).await.unwrap(), 2);
    assert_eq!(take_jobs(&s).await.len(), 2, "the lost one and the fresh one, not the delivered one");
}

async fn endpoints_failing_for_five_days_are_disabled_and_announced(s: TestStore) {
    let t = tenant(&s).await;
    let now = millis(Utc::now());
    let failing = WebhookEndpointRecord {
        failing_since: Some(now - chrono::Duration::days(6)),
        ..endpoint(&t, &["decision.block"])
    };
    let recent = WebhookEndpointRecord {
        failing_since: Some(now - chrono::Duration::days(1)),
        ..endpoint(&t, &["decision.block"])
    };
    let watcher = endpoint(&t, &["endpoint.disabled"]);
    for e in [&failing, &recent, &watcher] {
        s.insert_endpoint(e).await.unwrap();
    }
    let elsewhere = tenant(&s).await;
    let other =
        WebhookEndpointRecord { failing_since: Some(now - chrono::Duration::days(9)), ..endpoint(&elsewhere, &[]) };
    s.insert_endpoint(&other).await.unwrap();

    let five_days_ago = now - chrono::Duration::days(5);
    let found: Vec<WebhookEndpointId> =
        s.failing_endpoints(five_days_ago, 10).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(found, vec![other.id.clone(), failing.id.clone()], "every tenant's, longest failing first");

    let announcement = event("endpoint.disabled");
    let reason = "the endpoint failed for 5 days";
    assert!(s.disable_endpoint(&failing.id, reason, now, std::slice::from_ref(&announcement)).await.unwrap());
    assert_eq!(
        take_jobs(&s).await,
        vec![format!("{}:{}", announcement.message_id, watcher.id)],
        "announced to the tenant's subscribers, not to the disabled endpoint"
    );
    let disabled = s.get_endpoint(&t, &failing.id).await.unwrap().unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some(reason));
    assert!(!s.disable_endpoint(&failing.id, reason, now, &[event("endpoint.disabled")]).await.unwrap());
    assert!(take_jobs(&s).await.is_empty(), "disabled once, announced once");
    assert_eq!(s.failing_endpoints(five_days_ago, 10).await.unwrap().len(), 1, "only the other tenant's is left");
}

/// A completed analysis created `days_ago`, with one webhook message and attempt of that age.
async fn aged_analysis(s: &TestStore, t: &TenantId, days_ago: i64, hook: &WebhookEndpointId) -> AnalysisId {
    let at = millis(Utc::now()) - chrono::Duration::days(days_ago);
    let mut new = new_analysis(t, days_ago.unsigned_abs(), &format!("{:07x}", days_ago + 0xabc0000), 2);
    new.created_at = at;
    submitted(s, &new).await;
    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    s.mark_running(&new.id, at).await.unwrap();
    s.complete_analysis(&result_for(&input, at)).await.unwrap();
    let m = event("analysis.completed");
    s.emit_events(t, std::slice::from_ref(&m), at).await.unwrap();
    s.record_attempt(&attempt(&m.message_id, hook, 1, at), &effect(DeliveryStatus::Delivered, None)).await.unwrap();
    new.id
}

async fn retention_removes_details_first_and_records_after_a_year(s: TestStore) {
    let t = tenant(&s).await;
    let hook = endpoint(&t, &[]);
    s.insert_endpoint(&hook).await.unwrap();
    let recent = aged_analysis(&s, &t, 10, &hook.id).await;
    let old = aged_analysis(&s, &t, 100, &hook.id).await;
    let ancient = aged_analysis(&s, &t, 400, &hook.id).await;
    take_jobs(&s).await;
    let rules = RetentionRules::default();
    let page = PageRequest::first(10);

    let report = s.purge_expired(&rules, Utc::now(), 100).await.unwrap();
    assert_eq!((report.analyses_purged, report.analyses_deleted), (1, 1), "{report:?}");
    assert_eq!((report.attempts_deleted, report.messages_deleted), (2, 2), "the 100- and 400-day-old ones");
    assert_eq!(s.get_analysis(&t, &ancient).await.unwrap(), None, "gone with its decision after a year");
    let purged = s.get_analysis(&t, &old).await.unwrap().unwrap();
    assert!(purged.purged_at.is_some());
    assert_eq!(purged.lines_total, 2, "the counts stay");
    assert!(s.list_lines(&t, &old, &page).await.unwrap().unwrap().items.is_empty(), "the lines go");
    assert!(s.list_findings(&t, &old, &page).await.unwrap().unwrap().items.is_empty());
    assert_eq!(s.get_sarif(&t, &old).await.unwrap(), None);
    assert!(s.get_decision(&t, &old).await.unwrap().is_some(), "the decision stays");
    assert!(s.get_bundle(&t, &old).await.unwrap().is_some(), "so does the signed bundle");
    let kept = s.get_analysis(&t, &recent).await.unwrap().unwrap();
    assert_eq!(kept.purged_at, None);
    assert_eq!(s.list_lines(&t, &recent, &page).await.unwrap().unwrap().items.len(), 2);
    assert_eq!(s.list_attempts(&t, &hook.id, &page).await.unwrap().items.len(), 1);
    assert_eq!(s.purge_expired(&rules, Utc::now(), 100).await.unwrap().total(), 0, "nothing more is due");

    // A tenant with a shorter retention: its 10-day-old analysis goes too.
    s.set_tenant_retention(&t, Some(7)).await.unwrap();
    assert_eq!(s.tenant_retention(&t).await.unwrap(), Some(7));
    let report = s.purge_expired(&rules, Utc::now(), 100).await.unwrap();
    assert_eq!((report.analyses_purged, report.attempts_deleted), (1, 1));
    assert!(s.get_analysis(&t, &recent).await.unwrap().unwrap().purged_at.is_some());
    s.set_tenant_retention(&t, None).await.unwrap();
    assert_eq!(s.tenant_retention(&t).await.unwrap(), None);
}

async fn scheduler_runs_keep_the_last_run_and_totals(s: TestStore) {
    let at = millis(Utc::now());
    let run = |result: Result<u64, String>, seconds: i64| SchedulerRun {
        job: "webhook_retry_pump".into(),
        every_seconds: 60,
        started_at: at + chrono::Duration::seconds(seconds),
        duration_ms: 12,
        result,
        runner: "worker-1:42".into(),
    };
    s.record_scheduler_run(&run(Ok(3), 0)).await.unwrap();
    s.record_scheduler_run(&run(Err("database unavailable".into()), 60)).await.unwrap();
    s.record_scheduler_run(&SchedulerRun { job: "retention_purge".into(), ..run(Ok(0), 1) }).await.unwrap();

    let records = s.list_scheduler_runs().await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.last.job.as_str()).collect::<Vec<_>>(),
        ["retention_purge", "webhook_retry_pump"]
    );
    let pump = &records[1];
    assert_eq!(pump.last, run(Err("database unavailable".into()), 60));
    assert_eq!((pump.runs, pump.failures), (2, 1));
    assert_eq!(pump.last_success_at, Some(at), "the last success is kept through a failure");
}
