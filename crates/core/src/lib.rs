//! Provenance's domain: analyses, changed lines, attribution, findings, policy and decisions,
//! and the pure encodings of the evidence (DSSE, in-toto, SARIF). No I/O and no async runtime.

pub mod access;
pub mod analysis;
pub mod attestation;
pub mod attribution;
pub mod authorship;
pub mod decision;
pub mod diff;
pub mod digest;
pub mod dsse;
pub mod finding;
pub mod id;
pub mod identity;
pub mod ingest;
pub mod language;
pub mod line;
pub mod names;
pub mod overrides;
pub mod policy;
pub mod sarif;
pub mod snippet;
pub mod statement;
pub mod suppression;
pub mod validation;
pub mod webhooks;

pub use analysis::{
    Analysis, AnalysisError, AnalysisStatus, FileContent, NewAnalysis, ReportMode, SMOKE_METADATA_KEY, is_smoke,
};
pub use attribution::{Attribution, AttributionSource, Contributor};
pub use decision::{Decision, Outcome};
pub use finding::{Category, Detection, Finding, FindingStatus, Location, Severity};
pub use id::{
    AgentKeyId, AnalysisId, ApiKeyId, DecisionId, FindingId, MessageId, OverrideId, SuppressionId, TenantId,
    WebhookEndpointId,
};
pub use line::{ChangeType, ChangedLine, DeclaredAttribution};
pub use names::{AgentId, CommitSha, RepoName, RepoPath};
pub use validation::{FieldError, ValidationErrors};
