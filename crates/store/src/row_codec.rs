//! Conversions between stored values and domain values shared by the SQLite and PostgreSQL
//! rows: ids, JSON documents, integers and enum names. A value that no longer decodes is
//! `StoreError::Corrupt`, never a panic.

use std::fmt::Display;
use std::str::FromStr;

use provenance_core::{AnalysisStatus, FindingStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{StoreError, StoreResult};

pub(crate) fn corrupt(what: &str, e: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn parse_id<T: FromStr>(what: &str, s: &str) -> StoreResult<T>
where
    T::Err: Display,
{
    s.parse().map_err(|e| corrupt(what, format!("{s:?}: {e}")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// A count or number from the store's signed 64-bit integers.
pub(crate) fn to_u64(what: &str, n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|e| corrupt(what, e))
}

pub(crate) fn to_u32(what: &str, n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|e| corrupt(what, e))
}

/// A domain number into the store's signed 64-bit integers (values past `i64::MAX` are refused).
pub(crate) fn to_i64(what: &str, n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Unsupported(format!("{what} {n} is larger than the store can hold")))
}

pub(crate) fn finding_status_str(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Open => "open",
        FindingStatus::Suppressed => "suppressed",
    }
}

pub(crate) fn finding_status_from(s: &str) -> StoreResult<FindingStatus> {
    match s {
        "open" => Ok(FindingStatus::Open),
        "suppressed" => Ok(FindingStatus::Suppressed),
        other => Err(corrupt("finding status", other)),
    }
}

pub(crate) fn status_from(s: &str) -> StoreResult<AnalysisStatus> {
    AnalysisStatus::parse(s).ok_or_else(|| corrupt("analysis status", s))
}

/// The stored form of an agent identity's marks (`agent_identities.marks`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Marks {
    names: Vec<String>,
    emails: Vec<String>,
    logins: Vec<String>,
    footers: Vec<String>,
}

pub(crate) fn identity_marks_json(identity: &provenance_core::identity::AgentIdentity) -> StoreResult<String> {
    to_json(&Marks {
        names: identity.names.clone(),
        emails: identity.emails.clone(),
        logins: identity.logins.clone(),
        footers: identity.footers.clone(),
    })
}

pub(crate) fn identity_from_row(agent_id: &str, marks: &str) -> StoreResult<provenance_core::identity::AgentIdentity> {
    let marks: Marks = from_json("agent identity", marks)?;
    Ok(provenance_core::identity::AgentIdentity {
        agent_id: provenance_core::AgentId::parse(agent_id).map_err(|e| corrupt("agent id", e))?,
        names: marks.names,
        emails: marks.emails,
        logins: marks.logins,
        footers: marks.footers,
    })
}

/// A message row with its deliveries as a JSON array of `[endpoint_id, status, attempts]`.
pub(crate) fn message_record(
    id: &str,
    event_type: String,
    payload: String,
    created_at: chrono::DateTime<chrono::Utc>,
    deliveries: &str,
) -> StoreResult<crate::repository::MessageRecord> {
    let raw: Vec<(String, String, i64)> = from_json("message deliveries", deliveries)?;
    let deliveries = raw
        .into_iter()
        .map(|(endpoint, status, attempts)| {
            Ok((
                parse_id("endpoint id", &endpoint)?,
                crate::repository::DeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
                to_u32("attempts", attempts)?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(crate::repository::MessageRecord {
        id: parse_id("message id", id)?,
        event_type,
        payload,
        created_at,
        deliveries,
    })
}

/// What a claim attempt found, from the delivery as it stood and whether the claim was taken.
pub(crate) fn delivery_claim(
    target: crate::repository::DeliveryTarget,
    claimed: bool,
    claimed_until: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::repository::DeliveryClaim {
    use crate::repository::{DeliveryClaim, DeliveryStatus};
    if claimed {
        return DeliveryClaim::Claimed(Box::new(target));
    }
    if target.status != DeliveryStatus::Pending {
        return DeliveryClaim::Settled(target.status);
    }
    match claimed_until {
        Some(until) if until > now => DeliveryClaim::Busy { until },
        // Not due yet, or claimed by a concurrent claimer since this statement's snapshot.
        _ => DeliveryClaim::NotDue { at: target.next_attempt_at.unwrap_or(now) },
    }
}

/// A `scheduler_runs` row; `T` is how the store keeps timestamps.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RunRow<T> {
    job: String,
    every_seconds: i64,
    started_at: T,
    duration_ms: i64,
    result: String,
    items: i64,
    error: Option<String>,
    runner: String,
    runs: i64,
    failures: i64,
    last_success_at: Option<T>,
}

impl<T> RunRow<T> {
    pub(crate) fn into_record(
        self,
        time: impl Fn(T) -> StoreResult<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<crate::repository::SchedulerRecord> {
        let result = match self.result.as_str() {
            "ok" => Ok(to_u64("items", self.items)?),
            _ => Err(self.error.unwrap_or_default()),
        };
        Ok(crate::repository::SchedulerRecord {
            last: crate::repository::SchedulerRun {
                job: self.job,
                every_seconds: to_u64("every_seconds", self.every_seconds)?,
                started_at: time(self.started_at)?,
                duration_ms: to_u64("duration_ms", self.duration_ms)?,
                result,
                runner: self.runner,
            },
            runs: to_u64("runs", self.runs)?,
            failures: to_u64("failures", self.failures)?,
            last_success_at: self.last_success_at.map(time).transpose()?,
        })
    }
}

/// Before when a tenant's analyses lose their details, and before when they go with their
/// decision and bundle (never sooner than `record_days`, nor sooner than their details).
pub(crate) fn retention_cutoffs(
    rules: &crate::repository::RetentionRules,
    tenant_days: Option<i32>,
    now: chrono::DateTime<chrono::Utc>,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let details = tenant_days.and_then(|d| u32::try_from(d).ok()).unwrap_or(rules.default_days);
    let records = rules.record_days.max(details);
    (now - chrono::Duration::days(i64::from(details)), now - chrono::Duration::days(i64::from(records)))
}
