//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    admin, agents, analyses, api_keys, detect, detectors, findings, health, keys, overrides, policies, results,
    webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Provenance API",
        description = "Attribution, risk and signed merge decisions for pull requests written by AI agents and humans.",
        license(name = "Apache-2.0")
    ),
    paths(
        analyses::submit, analyses::get, analyses::list,
        results::decision, results::findings, results::lines, results::bundle, results::sarif,
        detectors::capabilities, detect::detect, keys::list,
        api_keys::create, api_keys::list, api_keys::revoke,
        agents::register, agents::list, agents::revoke, agents::revoke_all,
        agents::put_identity, agents::delete_identity, agents::identities,
        policies::list, policies::get, policies::effective, policies::put, policies::delete, policies::validate,
        findings::get, findings::suppress, findings::list, findings::revoke,
        overrides::create, overrides::get, overrides::history, overrides::verify,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete, webhooks::rotate,
        webhooks::attempts, webhooks::test, webhooks::messages, webhooks::replay_message, webhooks::replay_failed,
        admin::scheduler, admin::retention, admin::set_retention, admin::reset_retention,
        health::live, health::ready, health::startup,
        crate::metrics::render,
    ),
    components(schemas(crate::error::Problem, provenance_core::FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "analyses", description = "Submit change sets and follow their progress"),
        (name = "results", description = "Decisions, findings, attributed lines, signed bundles, SARIF"),
        (name = "detectors", description = "What evaluates the code"),
        (name = "keys", description = "Public keys that verify bundles"),
        (name = "agents", description = "Agent key registry: public keys that verify signed line attestations"),
        (name = "policies", description = "Policies as code: what decides allow, warn or block (docs/policy.md)"),
        (name = "findings", description = "Finding lifecycle: suppressions by fingerprint"),
        (name = "webhooks", description = "Standard Webhooks endpoints, their secrets and delivery attempts"),
        (name = "api-keys", description = "API key management (admin)"),
        (name = "admin", description = "Operations (admin): the scheduler's duties, retention"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pvn_<id>_<secret>").build(),
            ),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}
