//! Policies, suppressions and overrides (`GovernanceRepository`), the same on both stores.

use chrono::{Duration, Utc};
use provenance_core::policy::Policy;
use provenance_core::suppression::FingerprintSuppression;
use provenance_core::{AnalysisId, FindingId, OverrideId, SuppressionId, TenantId};
use provenance_store::{OverrideRecord, PageRequest};

use crate::support::*;

both_backends!(
    each_put_of_a_policy_is_a_new_version_and_old_versions_stay_readable,
    concurrent_puts_of_one_policy_get_distinct_versions,
    policies_are_per_tenant,
    a_finding_is_found_by_id_only_in_its_tenant,
    one_suppression_per_fingerprint_is_in_force_and_expired_ones_give_way,
    suppressions_are_listed_newest_first_and_revoked_ones_only_when_asked,
    an_analysis_has_at_most_one_override,
);

fn policy(id: &str, description: &str) -> Policy {
    let mut p = Policy::parse(&format!("description: {description}\n")).unwrap();
    p.id = id.into();
    p
}

async fn each_put_of_a_policy_is_a_new_version_and_old_versions_stay_readable(s: TestStore) {
    let t = tenant(&s).await;
    let at = millis(Utc::now());
    let first = s.put_policy(&t, &policy("team", "one"), "description: one\n", "key_a", at).await.unwrap();
    assert_eq!(first.policy.version, 1);
    let second = s.put_policy(&t, &policy("team", "two"), "description: two\n", "key_b", at).await.unwrap();
    assert_eq!(second.policy.version, 2);
    assert_eq!(s.get_policy(&t, "team", None).await.unwrap(), Some(second.clone()));
    assert_eq!(s.get_policy(&t, "team", Some(1)).await.unwrap(), Some(first.clone()));
    assert_eq!(s.list_policies(&t).await.unwrap(), vec![second]);

    assert!(s.delete_policy(&t, "team").await.unwrap());
    assert!(!s.delete_policy(&t, "team").await.unwrap());
    assert!(s.list_policies(&t).await.unwrap().is_empty());
    assert_eq!(s.get_policy(&t, "team", None).await.unwrap(), None);
    assert_eq!(s.get_policy(&t, "team", Some(1)).await.unwrap(), Some(first));
    let third = s.put_policy(&t, &policy("team", "three"), "description: three\n", "key_a", at).await.unwrap();
    assert_eq!(third.policy.version, 3, "versions continue after a delete");
}

async fn concurrent_puts_of_one_policy_get_distinct_versions(s: TestStore) {
    let t = tenant(&s).await;
    let store = s.as_dyn();
    let puts = (0..8).map(|i| {
        let (store, t) = (store.clone(), t.clone());
        tokio::spawn(async move {
            store
                .put_policy(&t, &policy("team", &format!("v{i}")), "x", "key", Utc::now())
                .await
                .map(|r| r.policy.version)
        })
    });
    let mut versions = Vec::new();
    for put in puts {
        versions.push(put.await.unwrap().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<u32>>(), "every put succeeds, each with its own version");
    let active = s.get_policy(&t, "team", None).await.unwrap().unwrap();
    assert_eq!(active.policy.version, 8);
}

async fn policies_are_per_tenant(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    s.put_policy(&a, &policy("team", "a"), "a", "key", Utc::now()).await.unwrap();
    assert!(s.list_policies(&b).await.unwrap().is_empty());
    assert_eq!(s.get_policy(&b, "team", Some(1)).await.unwrap(), None);
    assert!(!s.delete_policy(&b, "team").await.unwrap());
    let other = s.put_policy(&b, &policy("team", "b"), "b", "key", Utc::now()).await.unwrap();
    assert_eq!(other.policy.version, 1, "each tenant numbers its own versions");
}

async fn a_finding_is_found_by_id_only_in_its_tenant(s: TestStore) {
    let t = tenant(&s).await;
    let analysis = submitted(&s, &new_analysis(&t, 1, "abc1234", 2)).await;
    let input = s.load_job_input(&analysis.id).await.unwrap().unwrap();
    let result = result_for(&input, Utc::now());
    s.complete_analysis(&result).await.unwrap();
    let wanted = &result.findings[1];
    let (analysis_id, found) = s.get_finding(&t, &wanted.id).await.unwrap().unwrap();
    assert_eq!(analysis_id, analysis.id);
    assert_eq!(&found, wanted);
    let other = tenant(&s).await;
    assert_eq!(s.get_finding(&other, &wanted.id).await.unwrap(), None);
    assert_eq!(s.get_finding(&t, &FindingId::generate()).await.unwrap(), None);
}

fn suppression(fingerprint: &str, created_at: chrono::DateTime<Utc>) -> FingerprintSuppression {
    FingerprintSuppression {
        id: SuppressionId::generate(),
        fingerprint: fingerprint.into(),
        finding_id: FindingId::generate(),
        rule_id: "python.eval".into(),
        file_path: "app.py".into(),
        reason: "accepted".into(),
        suppressed_by: "key_a".into(),
        created_at: millis(created_at),
        expires_at: None,
        revoked_at: None,
        revoked_by: None,
    }
}

async fn one_suppression_per_fingerprint_is_in_force_and_expired_ones_give_way(s: TestStore) {
    let t = tenant(&s).await;
    let now = millis(Utc::now());
    let mut first = suppression("fp1", now - Duration::hours(2));
    first.expires_at = Some(now + Duration::hours(1));
    assert_eq!(s.insert_suppression(&t, &first, &[]).await.unwrap(), None);
    let again = suppression("fp1", now);
    assert_eq!(
        s.insert_suppression(&t, &again, &[]).await.unwrap(),
        Some(first.clone()),
        "the one in force is returned"
    );
    assert_eq!(s.active_suppressions(&t, &["fp1", "fp2"], now).await.unwrap(), vec![first.clone()]);
    assert!(s.active_suppressions(&t, &["fp1"], now + Duration::hours(2)).await.unwrap().is_empty(), "expired");
    assert!(s.active_suppressions(&tenant(&s).await, &["fp1"], now).await.unwrap().is_empty(), "per tenant");
    assert!(s.active_suppressions(&t, &[], now).await.unwrap().is_empty());

    // Once expired, a new suppression replaces it; the old one is kept, revoked.
    let later = suppression("fp1", now + Duration::hours(2));
    assert_eq!(s.insert_suppression(&t, &later, &[]).await.unwrap(), None);
    let all = s.list_suppressions(&t, true, &PageRequest::first(10)).await.unwrap().items;
    assert_eq!(all.len(), 2);
    let old = all.iter().find(|x| x.id == first.id).unwrap();
    assert_eq!(old.revoked_by.as_deref(), Some("expired"));

    assert!(s.revoke_suppression(&t, &later.id, "key_b", now).await.unwrap());
    assert!(!s.revoke_suppression(&t, &later.id, "key_b", now).await.unwrap(), "revoked once");
    assert!(s.active_suppressions(&t, &["fp1"], now).await.unwrap().is_empty());
    assert!(!s.revoke_suppression(&tenant(&s).await, &first.id, "key_b", now).await.unwrap());
}

async fn suppressions_are_listed_newest_first_and_revoked_ones_only_when_asked(s: TestStore) {
    let t = tenant(&s).await;
    let now = millis(Utc::now());
    let mut made: Vec<FingerprintSuppression> = (0..5).map(|i| suppression(&format!("fp{i}"), now)).collect();
    // Ids are ULIDs: made in the same millisecond, their order is the ids' order.
    made.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for m in &made {
        assert_eq!(s.insert_suppression(&t, m, &[]).await.unwrap(), None);
    }
    s.revoke_suppression(&t, &made[4].id, "key", now).await.unwrap();
    let page = s.list_suppressions(&t, false, &PageRequest::first(2)).await.unwrap();
    assert_eq!(page.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&made[3].id, &made[2].id]);
    let cursor = page.next_cursor.unwrap();
    let next = s.list_suppressions(&t, false, &PageRequest::from_query(Some(2), Some(&cursor)).unwrap()).await.unwrap();
    assert_eq!(next.items.iter().map(|x| &x.id).collect::<Vec<_>>(), vec![&made[1].id, &made[0].id]);
    assert_eq!(s.list_suppressions(&t, true, &PageRequest::first(10)).await.unwrap().items.len(), 5);
}

async fn an_analysis_has_at_most_one_override(s: TestStore) {
    let t = tenant(&s).await;
    let analysis = submitted(&s, &new_analysis(&t, 1, "abc1234", 1)).await;
    let record = |reason: &str| OverrideRecord {
        id: OverrideId::generate(),
        analysis_id: analysis.id.clone(),
        reason: reason.into(),
        overridden_by: "key_a".into(),
        created_at: millis(Utc::now()),
        bundle: serde_json::json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []}),
    };
    let first = record("hotfix");
    assert!(s.insert_override(&first).await.unwrap());
    assert!(!s.insert_override(&record("again")).await.unwrap());
    assert_eq!(s.get_override(&t, &analysis.id).await.unwrap(), Some(first));
    assert_eq!(s.get_override(&TenantId::generate(), &analysis.id).await.unwrap(), None);
    assert_eq!(s.get_override(&t, &AnalysisId::generate()).await.unwrap(), None);
}
