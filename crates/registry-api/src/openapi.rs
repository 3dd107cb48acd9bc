//! The OpenAPI document's frame: title, tags and the bearer security scheme. The paths are
//! added by the router itself (`utoipa-axum`), so the document cannot drift from the routes.
//! Also the document as committed, which is what the API serves.

use serde_json::{Value, json};
use switchboard_core::ConnectorId;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI document `GET /openapi.json` serves: [`crate::openapi()`]'s, as committed in
/// `crates/registry-api/openapi.json`. The functions serve the text rather than generate it, so
/// they do not link the code of every schema (`the_committed_document_is_current` keeps the
/// two equal).
pub const COMMITTED_JSON: &str = include_str!("../openapi.json");

/// Name of the security scheme every authenticated route uses.
pub const BEARER: &str = "bearer";

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard registry API",
        description = "Connector catalogue, connector instances with write-only credentials, OAuth2 \
            connect, health and recent signals. Every route except `/health`, `/openapi.json` and \
            `/oauth/callback` needs a bearer token (API Gateway JWT authorizer, or the local admin \
            token). Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "catalogue", description = "Connector descriptors"),
        (name = "instances", description = "Connectors configured for a project"),
        (name = "health", description = "Health checks and monitoring"),
        (name = "oauth", description = "OAuth2 connect"),
        (name = "signals", description = "Recent signals"),
        (name = "service", description = "Liveness and this document"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Connector id of the descriptor in the request examples (not a built-in, so registering the
/// example works on a fresh registry).
pub const EXAMPLE_CONNECTOR: &str = "acme-tickets";

/// Adds an example to the JSON body of each operation that takes one: the `switchboard init`
/// scaffold where a descriptor is sent (it validates and its example passes), a GitHub Issues
/// instance where an instance is created or changed.
pub fn add_request_examples(doc: &mut OpenApiDoc) {
    let descriptor = ConnectorId::parse(EXAMPLE_CONNECTOR)
        .ok()
        .and_then(|id| serde_json::from_str::<Value>(&switchboard_core::scaffold::scaffold(&id)).ok());
    let instance = json!({
        "config": {"owner": "octocat", "repo": "Hello-World"},
        "credentials": {"token": "github_pat_example"},
        "enabled": true
    });
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let example = match operation.operation_id.as_deref() {
                Some(
                    "register_connector" | "register_connector_at" | "update_connector" | "run_descriptor_examples",
                ) => descriptor.clone(),
                Some("create_instance") => Some(instance.clone()),
                Some("update_instance") => Some(json!({"config": {"owner": "octocat", "repo": "Spoon-Knife"},
                    "credentials": {"token": "github_pat_example"}})),
                Some("enable_instance") => Some(json!({"enabled": false})),
                _ => None,
            };
            let body = operation.request_body.as_mut().and_then(|b| b.content.get_mut("application/json"));
            if let (Some(example), Some(content)) = (example, body) {
                content.example = Some(example);
            }
        }
    }
}
