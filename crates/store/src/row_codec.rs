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
