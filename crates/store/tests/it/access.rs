use chrono::Utc;
use provenance_core::access::{Scope, Tier, mint_api_key};
use provenance_core::identity::AgentIdentity;
use provenance_core::{AgentId, AgentKeyId, ApiKeyId, TenantId};
use provenance_store::{AgentKeyRecord, ApiKeyRecord};

use crate::support::*;

both_backends!(
    ensuring_a_tenant_twice_keeps_one_tenant,
    an_api_key_reads_back_as_stored_and_records_its_last_use,
    keys_are_listed_per_tenant,
    only_the_owning_tenant_can_revoke_a_key,
    a_healthy_store_answers_ping,
);

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

async fn ensuring_a_tenant_twice_keeps_one_tenant(s: TestStore) {
    let t = TenantId::generate();
    s.ensure_tenant(&t, "Acme").await.unwrap();
    s.ensure_tenant(&t, "Acme again").await.unwrap();
    let names = s.texts("SELECT name FROM tenants WHERE id = $1", t.as_str()).await;
    assert_eq!(names, vec![Some("Acme".to_string())]);
}

async fn an_api_key_reads_back_as_stored_and_records_its_last_use(s: TestStore) {
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

async fn keys_are_listed_per_tenant(s: TestStore) {
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

async fn only_the_owning_tenant_can_revoke_a_key(s: TestStore) {
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

async fn a_healthy_store_answers_ping(s: TestStore) {
    s.ping().await.unwrap();
}

both_backends!(
    an_agent_key_is_listed_for_its_tenant_and_agent_only,
    the_same_key_is_active_once_per_tenant_and_can_be_registered_again_after_revocation,
    only_the_owning_tenant_and_agent_can_revoke_an_agent_key,
);

fn agent_key(tenant: &TenantId, agent: &str, fingerprint: &str) -> AgentKeyRecord {
    AgentKeyRecord {
        id: AgentKeyId::generate(),
        tenant_id: tenant.clone(),
        agent_id: AgentId::parse(agent).unwrap(),
        public_key: format!("key-of-{fingerprint}"),
        fingerprint: fingerprint.into(),
        created_at: millis(Utc::now()),
        revoked_at: None,
    }
}

async fn an_agent_key_is_listed_for_its_tenant_and_agent_only(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    let (k1, k2, k3) =
        (agent_key(&a, "claude-code", "f1"), agent_key(&a, "cursor", "f2"), agent_key(&b, "claude-code", "f3"));
    for k in [&k1, &k2, &k3] {
        assert!(s.insert_agent_key(k).await.unwrap());
    }
    let claude = AgentId::parse("claude-code").unwrap();
    assert_eq!(s.list_agent_keys(&a, Some(&claude)).await.unwrap(), vec![k1.clone()]);
    let mut all: Vec<_> = s.list_agent_keys(&a, None).await.unwrap().into_iter().map(|k| k.fingerprint).collect();
    all.sort();
    assert_eq!(all, vec!["f1", "f2"]);
    assert_eq!(s.list_agent_keys(&b, None).await.unwrap(), vec![k3]);
}

async fn the_same_key_is_active_once_per_tenant_and_can_be_registered_again_after_revocation(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    let first = agent_key(&a, "claude-code", "same");
    assert!(s.insert_agent_key(&first).await.unwrap());
    assert!(!s.insert_agent_key(&agent_key(&a, "cursor", "same")).await.unwrap(), "one active use per tenant");
    assert!(s.insert_agent_key(&agent_key(&b, "claude-code", "same")).await.unwrap(), "tenants are independent");
    assert!(s.revoke_agent_key(&a, &first.agent_id, &first.id, Utc::now()).await.unwrap());
    assert!(s.insert_agent_key(&agent_key(&a, "claude-code", "same")).await.unwrap());
    assert_eq!(s.list_agent_keys(&a, None).await.unwrap().len(), 2, "the revoked key stays in the history");
}

async fn only_the_owning_tenant_and_agent_can_revoke_an_agent_key(s: TestStore) {
    let (owner, other) = (tenant(&s).await, tenant(&s).await);
    let key = agent_key(&owner, "claude-code", "f");
    s.insert_agent_key(&key).await.unwrap();
    let cursor = AgentId::parse("cursor").unwrap();
    assert!(!s.revoke_agent_key(&other, &key.agent_id, &key.id, Utc::now()).await.unwrap());
    assert!(!s.revoke_agent_key(&owner, &cursor, &key.id, Utc::now()).await.unwrap());
    let at = Utc::now();
    assert!(s.revoke_agent_key(&owner, &key.agent_id, &key.id, at).await.unwrap());
    assert!(s.revoke_agent_key(&owner, &key.agent_id, &key.id, Utc::now()).await.unwrap());
    assert_eq!(s.list_agent_keys(&owner, None).await.unwrap()[0].revoked_at, Some(millis(at)));
}

both_backends!(agent_identities_are_kept_per_tenant_and_replaced_whole);

async fn agent_identities_are_kept_per_tenant_and_replaced_whole(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    let identity = |names: &[&str]| AgentIdentity {
        agent_id: AgentId::parse("acme-bot").unwrap(),
        names: names.iter().map(|n| n.to_string()).collect(),
        emails: vec!["bot@acme.dev".into()],
        logins: Vec::new(),
        footers: vec!["generated by acme".into()],
    };
    s.put_agent_identity(&a, &identity(&["acme bot"]), Utc::now()).await.unwrap();
    s.put_agent_identity(&a, &identity(&["acme bot", "acme"]), Utc::now()).await.unwrap();
    assert_eq!(s.list_agent_identities(&a).await.unwrap(), vec![identity(&["acme bot", "acme"])]);
    assert!(s.list_agent_identities(&b).await.unwrap().is_empty());
    let agent = AgentId::parse("acme-bot").unwrap();
    assert!(!s.delete_agent_identity(&b, &agent).await.unwrap());
    assert!(s.delete_agent_identity(&a, &agent).await.unwrap());
    assert!(s.list_agent_identities(&a).await.unwrap().is_empty());
}
