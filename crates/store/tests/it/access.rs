use chrono::Utc;
use provenance_core::access::{Scope, Tier, mint_api_key};
use provenance_core::{ApiKeyId, TenantId};
use provenance_store::{AccessRepository, ApiKeyRecord};

use crate::support::*;

fn key_for(tenant: &TenantId, name: &str) -> ApiKeyRecord {
    let minted = mint_api_key([9; 32]);
    ApiKeyRecord {
        id: minted.id,
        tenant_id: tenant.clone(),
        name: name.into(),
        secret_sha256: minted.secret_sha256,
        scopes: vec![Scope::AnalysisWrite, Scope::AnalysisRead],
        tier: Tier::Premium,
        created_at: millis(Utc::now()),
        last_used_at: None,
        revoked_at: None,
    }
}

#[tokio::test]
async fn ensuring_a_tenant_twice_keeps_one_tenant() {
    let s = test_store().await;
    let t = TenantId::generate();
    s.ensure_tenant(&t, "Acme").await.unwrap();
    s.ensure_tenant(&t, "Acme again").await.unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM tenants WHERE id = ?").bind(t.as_str()).fetch_all(s.pool()).await.unwrap();
    assert_eq!(names, vec!["Acme".to_string()]);
}

#[tokio::test]
async fn an_api_key_reads_back_as_stored_and_records_its_last_use() {
    let s = test_store().await;
    let t = tenant(&s).await;
    let key = key_for(&t, "ci");
    s.insert_api_key(&key).await.unwrap();
    assert_eq!(s.find_api_key(&key.id).await.unwrap(), Some(key.clone()));

    let used = Utc::now();
    s.touch_api_key(&key.id, used).await.unwrap();
    let found = s.find_api_key(&key.id).await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(millis(used)));
    assert_eq!(s.find_api_key(&ApiKeyId::generate()).await.unwrap(), None);
}

#[tokio::test]
async fn keys_are_listed_per_tenant() {
    let s = test_store().await;
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    let (k1, k2, k3) = (key_for(&a, "one"), key_for(&a, "two"), key_for(&b, "three"));
    for k in [&k1, &k2, &k3] {
        s.insert_api_key(k).await.unwrap();
    }
    let mut names: Vec<String> = s.list_api_keys(&a).await.unwrap().into_iter().map(|k| k.name).collect();
    names.sort();
    assert_eq!(names, vec!["one", "two"]);
    assert_eq!(s.list_api_keys(&b).await.unwrap(), vec![k3]);
}

#[tokio::test]
async fn only_the_owning_tenant_can_revoke_a_key() {
    let s = test_store().await;
    let (owner, other) = (tenant(&s).await, tenant(&s).await);
    let key = key_for(&owner, "ci");
    s.insert_api_key(&key).await.unwrap();

    assert!(!s.revoke_api_key(&other, &key.id, Utc::now()).await.unwrap());
    assert_eq!(s.find_api_key(&key.id).await.unwrap().unwrap().revoked_at, None);
    let at = Utc::now();
    assert!(s.revoke_api_key(&owner, &key.id, at).await.unwrap());
    assert_eq!(s.find_api_key(&key.id).await.unwrap().unwrap().revoked_at, Some(millis(at)));
    assert!(!s.revoke_api_key(&owner, &ApiKeyId::generate(), at).await.unwrap());
}

#[tokio::test]
async fn a_healthy_store_answers_ping() {
    let s = test_store().await;
    s.ping().await.unwrap();
}
