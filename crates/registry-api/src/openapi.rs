//! The OpenAPI document's frame: title, tags and the bearer security scheme. The paths are
//! added by the router itself (`utoipa-axum`), so the document cannot drift from the routes.

use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
