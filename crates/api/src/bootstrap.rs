//! Start-up chores shared by `provenance serve` and `provenance-api`: the default tenant and the
//! bootstrap admin key (the operator's `PROVENANCE_BOOTSTRAP_ADMIN_KEY`, or one created into the
//! data dir with mode 0600 on first start).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use provenance_core::TenantId;
use provenance_core::access::{Scope, Tier, hash_secret, parse_token};
use provenance_store::{ApiKeyRecord, Store};

use crate::routes::api_keys::new_key_record;

/// The tenant that bootstrap keys belong to (embedded mode serves this one organisation).
pub fn default_tenant() -> TenantId {
    "tn_00000000000000000000000000".parse().expect("a valid constant tenant id")
}

/// The file holding the admin API key created on first start.
pub fn admin_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.key")
}

/// The admin key in effect after bootstrap.
#[derive(Debug)]
pub struct AdminKey {
    pub token: String,
    /// The file it is kept in, unless it came from the environment.
    pub file: Option<PathBuf>,
    /// Whether this start created it.
    pub created: bool,
}

/// Make sure the default tenant and an admin key exist: `bootstrap` if given, else the key in
/// `<data_dir>/admin.key`, created on first start when `create_file` allows it.
pub async fn ensure_admin_key(
    store: &dyn Store,
    bootstrap: Option<&str>,
    data_dir: &Path,
    create_file: bool,
) -> anyhow::Result<Option<AdminKey>> {
    let tenant = default_tenant();
    store.ensure_tenant(&tenant, "default").await?;
    if let Some(token) = bootstrap.map(str::trim).filter(|t| !t.is_empty()) {
        register_token(store, &tenant, token, "bootstrap-admin").await.context("PROVENANCE_BOOTSTRAP_ADMIN_KEY")?;
        return Ok(Some(AdminKey { token: token.to_string(), file: None, created: false }));
    }
    let path = admin_key_path(data_dir);
    if path.exists() {
        let token = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let token = token.trim().to_string();
        register_token(store, &tenant, &token, "admin")
            .await
            .with_context(|| format!("the key in {}", path.display()))?;
        return Ok(Some(AdminKey { token, file: Some(path), created: false }));
    }
    if !create_file {
        return Ok(None);
    }
    let (record, token) = new_key_record(&tenant, "admin".into(), vec![Scope::Admin], Tier::Admin, rand::random());
    store.insert_api_key(&record).await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{token}")?;
    Ok(Some(AdminKey { token, file: Some(path), created: true }))
}

/// Store `token` as an admin key if the database does not know it (e.g. a fresh database).
async fn register_token(store: &dyn Store, tenant: &TenantId, token: &str, name: &str) -> anyhow::Result<()> {
    let Some((id, secret)) = parse_token(token) else {
        bail!("not an API key of the form pvn_<id>_<secret>");
    };
    if store.find_api_key(&id).await?.is_none() {
        store
            .insert_api_key(&ApiKeyRecord {
                id,
                tenant_id: tenant.clone(),
                name: name.to_string(),
                secret_sha256: hash_secret(secret),
                scopes: vec![Scope::Admin],
                tier: Tier::Admin,
                created_at: chrono::Utc::now(),
                last_used_at: None,
                revoked_at: None,
            })
            .await?;
    }
    Ok(())
}
