//! `/v1/agents/…`: the tenant's agent registry (SPEC §3).
//!
//! - `/v1/agents/{agent_id}/keys`: an agent runtime's Ed25519 public keys; lines signed with them
//!   verify (`signed`, 1.0).
//! - `/v1/agents/{agent_id}/identity` and `/v1/agents/identities`: the names, e-mails, bot
//!   logins and footers by which commit metadata names the tenant's agents, matched before the
//!   shipped table.
//!
//! Changing the registry needs the `admin` scope (keys are trust roots); reading it needs
//! `analysis:read`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use provenance_core::access::Scope;
use provenance_core::attestation::parse_public_key;
use provenance_core::dsse::key_id;
use provenance_core::identity::{AgentIdentity, KNOWN_AGENTS, KnownAgent};
use provenance_core::{AgentId, AgentKeyId, ValidationErrors};
use provenance_store::AgentKeyRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterAgentKeyRequest {
    /// The Ed25519 public key: base64 of its raw 32 bytes, or a PEM `PUBLIC KEY` block.
    pub public_key: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentKeyView {
    #[schema(value_type = String, example = "agk_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub id: AgentKeyId,
    #[schema(value_type = String, example = "claude-code")]
    pub agent_id: AgentId,
    /// Base64 of the raw 32-byte key.
    pub public_key: String,
    /// Hex sha256 of the raw key.
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<AgentKeyRecord> for AgentKeyView {
    fn from(r: AgentKeyRecord) -> Self {
        Self {
            id: r.id,
            agent_id: r.agent_id,
            public_key: r.public_key,
            fingerprint: r.fingerprint,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentKeyList {
    pub items: Vec<AgentKeyView>,
}

fn parse_agent(agent_id: &str) -> ApiResult<AgentId> {
    AgentId::parse(agent_id).map_err(|why| ApiError::Invalid(ValidationErrors::single("/agent_id", why)))
}

/// Register a public key for an agent. Registering the same key again for the same agent answers
/// 200 with the existing registration; a key active for another agent is a conflict.
#[utoipa::path(
    post, path = "/v1/agents/{agent_id}/keys", tag = "agents", request_body = RegisterAgentKeyRequest,
    params(("agent_id" = String, Path, description = "The agent's id, e.g. `claude-code`")),
    responses(
        (status = 201, body = AgentKeyView), (status = 200, body = AgentKeyView, description = "Already registered"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn register(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
    JsonBody(req): JsonBody<RegisterAgentKeyRequest>,
) -> ApiResult<(StatusCode, Json<AgentKeyView>)> {
    principal.require(Scope::Admin)?;
    let mut errors = ValidationErrors::default();
    let agent = AgentId::parse(&agent_id).map_err(|why| errors.push("/agent_id", why)).ok();
    let key = match req.public_key.as_deref() {
        None => {
            errors.push("/public_key", "is required");
            None
        }
        Some(text) => parse_public_key(text).map_err(|why| errors.push("/public_key", why)).ok(),
    };
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let (Some(agent), Some(key)) = (agent, key) else { unreachable!("reported as errors above") };

    let record = AgentKeyRecord {
        id: AgentKeyId::generate(),
        tenant_id: principal.tenant_id.clone(),
        agent_id: agent,
        public_key: STANDARD.encode(key.as_bytes()),
        fingerprint: key_id(&key),
        created_at: Utc::now(),
        revoked_at: None,
    };
    if state.store.insert_agent_key(&record).await? {
        return Ok((StatusCode::CREATED, Json(record.into())));
    }
    let active = state
        .store
        .list_agent_keys(&principal.tenant_id, None)
        .await?
        .into_iter()
        .find(|k| k.fingerprint == record.fingerprint && k.revoked_at.is_none());
    match active {
        Some(existing) if existing.agent_id == record.agent_id => Ok((StatusCode::OK, Json(existing.into()))),
        Some(existing) => Err(ApiError::Conflict(format!(
            "this key is registered for agent {}; revoke it there first",
            existing.agent_id
        ))),
        // Revoked between the insert and the read: the caller may simply retry.
        None => Err(ApiError::Conflict("the key changed while registering it; retry".into())),
    }
}

/// List an agent's keys, revoked ones included (oldest first).
#[utoipa::path(
    get, path = "/v1/agents/{agent_id}/keys", tag = "agents",
    params(("agent_id" = String, Path, description = "The agent's id")),
    responses((status = 200, body = AgentKeyList)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<AgentKeyList>> {
    principal.require(Scope::AnalysisRead)?;
    let agent = parse_agent(&agent_id)?;
    let items = state.store.list_agent_keys(&principal.tenant_id, Some(&agent)).await?;
    Ok(Json(AgentKeyList { items: items.into_iter().map(Into::into).collect() }))
}

/// Revoke one of an agent's keys: from now on its signatures no longer verify (analyses decided
/// earlier keep their signed decision).
#[utoipa::path(
    delete, path = "/v1/agents/{agent_id}/keys/{key_id}", tag = "agents",
    params(("agent_id" = String, Path, description = "The agent's id"), ("key_id" = String, Path, description = "`agk_…`")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path((agent_id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    principal.require(Scope::Admin)?;
    let agent = parse_agent(&agent_id)?;
    let id: AgentKeyId = key_id.parse().map_err(|_| ApiError::NotFound("agent key"))?;
    if state.store.revoke_agent_key(&principal.tenant_id, &agent, &id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("agent key"))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedAgentKeys {
    /// How many active keys were revoked.
    pub revoked: u64,
}

/// Revoke every active key of an agent (a compromised runtime).
#[utoipa::path(
    delete, path = "/v1/agents/{agent_id}/keys", tag = "agents",
    params(("agent_id" = String, Path, description = "The agent's id")),
    responses((status = 200, body = RevokedAgentKeys)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn revoke_all(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<RevokedAgentKeys>> {
    principal.require(Scope::Admin)?;
    let agent = parse_agent(&agent_id)?;
    let now = Utc::now();
    let mut revoked = 0;
    for key in state.store.list_agent_keys(&principal.tenant_id, Some(&agent)).await? {
        if key.revoked_at.is_none() && state.store.revoke_agent_key(&principal.tenant_id, &agent, &key.id, now).await? {
            revoked += 1;
        }
    }
    Ok(Json(RevokedAgentKeys { revoked }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PutAgentIdentityRequest {
    /// Names in `Co-authored-by:` / `Generated-by:` trailers (`Acme Bot`).
    pub names: Option<Vec<String>>,
    /// E-mail addresses of its trailers and commits.
    pub emails: Option<Vec<String>>,
    /// Bot logins its commits are authored by (`acme-bot[bot]`).
    pub logins: Option<Vec<String>>,
    /// Text it writes into commit messages (`Generated by Acme`); matched as a substring.
    pub footers: Option<Vec<String>>,
}

/// The most marks of each kind one identity may have, and the longest mark.
const MAX_MARKS: usize = 50;
const MAX_MARK_LEN: usize = 200;

fn marks(errors: &mut ValidationErrors, field: &str, values: Option<Vec<String>>) -> Vec<String> {
    let values = values.unwrap_or_default();
    if values.len() > MAX_MARKS {
        errors.push(format!("/{field}"), format!("at most {MAX_MARKS} entries"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let v = v.trim();
        if v.is_empty() || v.len() > MAX_MARK_LEN || v.chars().any(char::is_control) {
            errors.push(
                format!("/{field}/{i}"),
                format!("must be 1 to {MAX_MARK_LEN} characters without control characters"),
            );
            continue;
        }
        let v = v.to_lowercase();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Set the tenant's identity for an agent (replacing an earlier one): the marks by which commit
/// metadata names it. A tenant's identities are matched before the shipped table.
#[utoipa::path(
    put, path = "/v1/agents/{agent_id}/identity", tag = "agents", request_body = PutAgentIdentityRequest,
    params(("agent_id" = String, Path, description = "The agent's id, e.g. `acme-bot`")),
    responses((status = 200, body = AgentIdentity), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn put_identity(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
    JsonBody(req): JsonBody<PutAgentIdentityRequest>,
) -> ApiResult<Json<AgentIdentity>> {
    principal.require(Scope::Admin)?;
    let mut errors = ValidationErrors::default();
    let agent = AgentId::parse(&agent_id).map_err(|why| errors.push("/agent_id", why)).ok();
    let names = marks(&mut errors, "names", req.names);
    let emails = marks(&mut errors, "emails", req.emails);
    let logins = marks(&mut errors, "logins", req.logins);
    let footers = marks(&mut errors, "footers", req.footers);
    if names.is_empty() && emails.is_empty() && logins.is_empty() && footers.is_empty() {
        errors.push("/names", "give at least one name, email, login or footer");
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let Some(agent_id) = agent else { unreachable!("reported as an error above") };
    let identity = AgentIdentity { agent_id, names, emails, logins, footers };
    state.store.put_agent_identity(&principal.tenant_id, &identity, Utc::now()).await?;
    Ok(Json(identity))
}

/// Remove the tenant's identity for an agent (the shipped table is unaffected).
#[utoipa::path(
    delete, path = "/v1/agents/{agent_id}/identity", tag = "agents",
    params(("agent_id" = String, Path, description = "The agent's id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn delete_identity(
    State(state): State<AppState>,
    principal: Principal,
    Path(agent_id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require(Scope::Admin)?;
    let agent = parse_agent(&agent_id)?;
    if state.store.delete_agent_identity(&principal.tenant_id, &agent).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("agent identity"))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentIdentities {
    /// The tenant's own identities, matched first.
    pub tenant: Vec<AgentIdentity>,
    /// The identities Provenance ships with.
    pub shipped: Vec<AgentIdentity>,
}

/// Every identity commit metadata is matched against: the tenant's, then the shipped table.
#[utoipa::path(
    get, path = "/v1/agents/identities", tag = "agents",
    responses((status = 200, body = AgentIdentities)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn identities(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<AgentIdentities>> {
    principal.require(Scope::AnalysisRead)?;
    let tenant = state.store.list_agent_identities(&principal.tenant_id).await?;
    let shipped = KNOWN_AGENTS.iter().filter_map(KnownAgent::identity).collect();
    Ok(Json(AgentIdentities { tenant, shipped }))
}
