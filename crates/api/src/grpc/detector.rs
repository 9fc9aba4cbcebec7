//! `provenance.v1.DetectorService` on the API's port: the gRPC face of `POST /v1/detect` and
//! `GET /v1/detectors/capabilities`, answered by the same detection backend
//! ([`crate::state::Detection`]: in this process or on a worker). As in REST, Detect needs the
//! `analysis:write` scope and Capabilities is open.

use provenance_core::access::Scope;
use provenance_core::ingest::DetectRequest;
use provenance_detect::grpc::MAX_DETECT_MESSAGE_BYTES;
use provenance_proto::v1;
use provenance_proto::v1::detector_service_server::{DetectorService, DetectorServiceServer};
use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The service, to route behind the authentication middleware (which puts the [`Caller`] in
/// the request's extensions).
pub fn service(state: AppState) -> DetectorServiceServer<impl DetectorService> {
    DetectorServiceServer::new(ApiDetectorService { state }).max_decoding_message_size(MAX_DETECT_MESSAGE_BYTES)
}

struct ApiDetectorService {
    state: AppState,
}

#[tonic::async_trait]
impl DetectorService for ApiDetectorService {
    async fn capabilities(
        &self,
        _request: Request<v1::CapabilitiesRequest>,
    ) -> Result<Response<v1::CapabilitiesResponse>, Status> {
        let capabilities = self.state.detection.capabilities().await.map_err(|e| e.to_status())?;
        Ok(Response::new(capabilities.into()))
    }

    async fn detect(&self, request: Request<v1::DetectRequest>) -> Result<Response<v1::DetectResponse>, Status> {
        match request.extensions().get::<Caller>() {
            Some(Caller::Authenticated(principal)) => principal.require(Scope::AnalysisWrite),
            Some(Caller::Anonymous | Caller::Rejected) | None => Err(ApiError::Unauthenticated),
        }
        .map_err(|e| e.to_status())?;
        let request =
            DetectRequest::try_from(request.into_inner()).map_err(|e| ApiError::Malformed(e.into()).to_status())?;
        let response = self.state.detection.detect(request).await.map_err(|e| e.to_status())?;
        Ok(Response::new(response.into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use provenance_core::access::Tier;
    use provenance_core::id::ApiKeyId;
    use provenance_detect::DetectorSet;
    use provenance_proto::status::{field_violations, reason};

    use tonic::Code;

    use super::*;
    use crate::auth::Principal;

    async fn service_over_local_detectors() -> (ApiDetectorService, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store =
            provenance_store::connect(&url, provenance_store::Migrations::Apply, &Default::default()).await.unwrap();
        let keys = provenance_store::keyring::Keyring::load_or_generate(dir.path()).unwrap();
        let state = AppState::new(
            store,
            Arc::new(DetectorSet::bundled().unwrap()),
            keys.public_keys().to_vec(),
            Arc::new(keys.signing_key().clone()),
            Default::default(),
        );
        (ApiDetectorService { state }, dir)
    }

    fn as_caller(caller: Option<Caller>, message: v1::DetectRequest) -> Request<v1::DetectRequest> {
        let mut request = Request::new(message);
        if let Some(caller) = caller {
            request.extensions_mut().insert(caller);
        }
        request
    }

    fn with_scopes(scopes: Vec<Scope>) -> Option<Caller> {
        Some(Caller::Authenticated(Principal {
            key_id: ApiKeyId::generate(),
            tenant_id: crate::bootstrap::default_tenant(),
            scopes,
            tier: Tier::Standard,
        }))
    }

    fn snippet() -> v1::DetectRequest {
        v1::DetectRequest {
            path: "app/q.py".into(),
            content: "def q(cur, name):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn detect_needs_a_key_with_analysis_write() {
        let (service, _dir) = service_over_local_detectors().await;
        for caller in [None, Some(Caller::Anonymous), Some(Caller::Rejected)] {
            let e = service.detect(as_caller(caller, snippet())).await.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated);
            assert_eq!(reason(&e).as_deref(), Some("unauthenticated"));
        }
        let e = service.detect(as_caller(with_scopes(vec![Scope::AnalysisRead]), snippet())).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        assert_eq!(reason(&e).as_deref(), Some("forbidden"));

        let found = service.detect(as_caller(with_scopes(vec![Scope::AnalysisWrite]), snippet())).await.unwrap();
        let ids: Vec<String> = found.into_inner().findings.into_iter().map(|f| f.rule_id).collect();
        assert_eq!(ids, ["python.sqli.fstring"]);
    }

    #[tokio::test]
    async fn bad_fields_are_field_violations_and_capabilities_are_open() {
        let (service, _dir) = service_over_local_detectors().await;
        let bad = v1::DetectRequest {
            path: "../etc/passwd".into(),
            changed_lines: Some(v1::LineSelection { lines: vec![2, 0] }),
            ..snippet()
        };
        let e = service.detect(as_caller(with_scopes(vec![Scope::Admin]), bad)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(reason(&e).as_deref(), Some("validation-error"));
        let pointers: Vec<String> = field_violations(&e).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pointers, ["/path", "/changed_lines/1"]);

        let caps = service.capabilities(Request::new(v1::CapabilitiesRequest {})).await.unwrap().into_inner();
        let engines: Vec<String> = caps.detectors.into_iter().map(|d| d.engine).collect();
        assert_eq!(engines, ["pattern", "ast-grep"]);
    }
}
