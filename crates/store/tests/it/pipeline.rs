use chrono::Utc;
use provenance_core::{AnalysisError, AnalysisId, AnalysisStatus, Outcome};
use provenance_store::{JobStart, PageRequest, StoreError};

use crate::support::*;

both_backends!(
    the_job_input_holds_the_analysis_with_its_lines_and_files_in_order,
    a_queued_analysis_starts_running_and_a_redelivered_job_may_restart_it,
    completing_an_analysis_stores_attributions_findings_decision_bundle_and_sarif,
    findings_are_paged_in_the_order_the_worker_gave,
    a_second_completion_changes_nothing,
    a_result_with_another_number_of_lines_is_refused_and_changes_nothing,
    a_failed_analysis_keeps_its_error_and_is_never_completed_afterwards,
    completing_or_failing_an_unknown_analysis_is_not_found,
    starting_a_job_runs_it_with_its_input_unless_it_is_settled_or_missing,
    an_analysis_reads_with_its_decision_once_completed_and_only_for_its_tenant,
);

async fn an_analysis_reads_with_its_decision_once_completed_and_only_for_its_tenant(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    let queued = submitted(&s, &new).await;
    assert_eq!(s.get_analysis_with_decision(&t, &new.id).await.unwrap(), Some((queued, None)));

    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    let result = result_for(&input, Utc::now());
    s.complete_analysis(&result).await.unwrap();
    let (analysis, decision) = s.get_analysis_with_decision(&t, &new.id).await.unwrap().unwrap();
    assert_eq!(Some(&analysis), s.get_analysis(&t, &new.id).await.unwrap().as_ref());
    assert_eq!(analysis.status, AnalysisStatus::Completed);
    assert_eq!(decision, Some(result.decision));

    assert_eq!(s.get_analysis_with_decision(&tenant(&s).await, &new.id).await.unwrap(), None);
    assert_eq!(s.get_analysis_with_decision(&t, &AnalysisId::generate()).await.unwrap(), None);
}

async fn the_job_input_holds_the_analysis_with_its_lines_and_files_in_order(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 4);
    let created = submitted(&s, &new).await;

    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    assert_eq!(input.analysis, created);
    assert_eq!(input.lines, new.lines);
    assert_eq!(input.files, new.files);
    assert_eq!(s.load_job_input(&AnalysisId::generate()).await.unwrap(), None);
}

async fn a_queued_analysis_starts_running_and_a_redelivered_job_may_restart_it(s: TestStore) {
    let t = tenant(&s).await;
    let a = submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let at = Utc::now();

    assert!(s.mark_running(&a.id, at).await.unwrap());
    assert!(s.mark_running(&a.id, at).await.unwrap());
    let running = s.get_analysis(&t, &a.id).await.unwrap().unwrap();
    assert_eq!(running.status, AnalysisStatus::Running);
    assert_eq!(running.started_at, Some(millis(at)));
    assert!(!s.mark_running(&AnalysisId::generate(), at).await.unwrap());
}

async fn completing_an_analysis_stores_attributions_findings_decision_bundle_and_sarif(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    submitted(&s, &new).await;
    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    s.mark_running(&new.id, Utc::now()).await.unwrap();
    let result = result_for(&input, Utc::now());
    s.complete_analysis(&result).await.unwrap();

    let done = s.get_analysis(&t, &new.id).await.unwrap().unwrap();
    assert_eq!(done.status, AnalysisStatus::Completed);
    assert_eq!(done.findings_total, 3);
    assert_eq!(done.outcome, Some(Outcome::Block));
    assert_eq!(done.completed_at, Some(millis(result.completed_at)));

    let lines = s.list_lines(&t, &new.id, &PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(lines.items, result.lines);
    let findings = s.list_findings(&t, &new.id, &PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(findings.items, result.findings);
    assert_eq!(s.get_decision(&t, &new.id).await.unwrap(), Some(result.decision.clone()));
    assert_eq!(s.get_bundle(&t, &new.id).await.unwrap(), Some(result.bundle.clone()));
    assert_eq!(s.get_sarif(&t, &new.id).await.unwrap(), Some(result.sarif.clone()));

    let other = tenant(&s).await;
    assert_eq!(s.get_bundle(&other, &new.id).await.unwrap(), None);
    assert_eq!(s.get_sarif(&other, &new.id).await.unwrap(), None);
    assert_eq!(s.get_decision(&other, &new.id).await.unwrap(), None);
}

async fn findings_are_paged_in_the_order_the_worker_gave(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 5);
    submitted(&s, &new).await;
    let result = result_for(&s.load_job_input(&new.id).await.unwrap().unwrap(), Utc::now());
    s.complete_analysis(&result).await.unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = s.list_findings(&t, &new.id, &page).await.unwrap().unwrap();
        seen.extend(p.items);
        let Some(cursor) = p.next_cursor else { break };
        page = PageRequest::from_query(Some(2), Some(&cursor)).unwrap();
    }
    assert_eq!(seen, result.findings);
}

async fn a_second_completion_changes_nothing(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 2);
    submitted(&s, &new).await;
    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    let first = result_for(&input, Utc::now());
    s.complete_analysis(&first).await.unwrap();
    let before = s.get_analysis(&t, &new.id).await.unwrap();

    let second = result_for(&input, Utc::now());
    s.complete_analysis(&second).await.unwrap();
    assert_eq!(s.get_analysis(&t, &new.id).await.unwrap(), before);
    assert_eq!(s.get_decision(&t, &new.id).await.unwrap(), Some(first.decision));
    let findings = s.list_findings(&t, &new.id, &PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(findings.items, first.findings);
    assert!(!s.mark_running(&new.id, Utc::now()).await.unwrap());
}

async fn a_result_with_another_number_of_lines_is_refused_and_changes_nothing(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    submitted(&s, &new).await;
    let mut result = result_for(&s.load_job_input(&new.id).await.unwrap().unwrap(), Utc::now());
    result.lines.pop();

    assert!(matches!(s.complete_analysis(&result).await, Err(StoreError::Conflict(_))));
    let a = s.get_analysis(&t, &new.id).await.unwrap().unwrap();
    assert_eq!(a.status, AnalysisStatus::Queued);
    assert_eq!(s.get_decision(&t, &new.id).await.unwrap(), None);
}

async fn a_failed_analysis_keeps_its_error_and_is_never_completed_afterwards(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 1);
    submitted(&s, &new).await;
    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    let error = AnalysisError { code: "detector_crashed".into(), message: "regex engine panicked".into() };
    s.fail_analysis(&new.id, &error, Utc::now(), &[]).await.unwrap();

    s.complete_analysis(&result_for(&input, Utc::now())).await.unwrap();
    let later = AnalysisError { code: "other".into(), message: "second failure".into() };
    s.fail_analysis(&new.id, &later, Utc::now(), &[]).await.unwrap();

    let a = s.get_analysis(&t, &new.id).await.unwrap().unwrap();
    assert_eq!(a.status, AnalysisStatus::Failed);
    assert_eq!(a.error, Some(error));
    assert_eq!(a.outcome, None);
    assert_eq!(s.get_decision(&t, &new.id).await.unwrap(), None);
}

async fn completing_or_failing_an_unknown_analysis_is_not_found(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 1);
    submitted(&s, &new).await;
    let mut result = result_for(&s.load_job_input(&new.id).await.unwrap().unwrap(), Utc::now());
    result.analysis_id = AnalysisId::generate();
    assert!(matches!(s.complete_analysis(&result).await, Err(StoreError::NotFound)));
    let error = AnalysisError { code: "x".into(), message: "y".into() };
    assert!(matches!(s.fail_analysis(&result.analysis_id, &error, Utc::now(), &[]).await, Err(StoreError::NotFound)));
}

async fn starting_a_job_runs_it_with_its_input_unless_it_is_settled_or_missing(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    submitted(&s, &new).await;
    let at = Utc::now();

    let JobStart::Started(input) = s.start_job(&new.id, at).await.unwrap() else { panic!("expected Started") };
    assert_eq!((input.analysis.status, input.analysis.started_at), (AnalysisStatus::Running, Some(millis(at))));
    assert_eq!((input.lines.as_slice(), input.files.as_slice()), (new.lines.as_slice(), new.files.as_slice()));
    let stored = s.get_analysis(&t, &new.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AnalysisStatus::Running);

    // A redelivered job restarts a running analysis.
    assert!(matches!(s.start_job(&new.id, Utc::now()).await.unwrap(), JobStart::Started(_)));

    s.complete_analysis(&result_for(&input, Utc::now())).await.unwrap();
    assert_eq!(s.start_job(&new.id, Utc::now()).await.unwrap(), JobStart::Settled);
    assert_eq!(s.get_analysis(&t, &new.id).await.unwrap().unwrap().status, AnalysisStatus::Completed);
    assert_eq!(s.start_job(&AnalysisId::generate(), Utc::now()).await.unwrap(), JobStart::Missing);
}
