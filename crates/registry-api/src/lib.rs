//! The registry API (`RegistryApiFunction`): the dashboard's HTTP API over the connector
//! registry — catalogue and descriptor CRUD, instances with write-only credentials, health checks
//! and monitoring, OAuth2 connect, recent signals — as one axum [`router`].
//!
//! It knows nothing of where it runs. The Lambda function (`switchboard-lambda`) serves it behind
//! API Gateway, turning the JWT authorizer's claims into [`edge::AuthorizerClaims`] for the
//! [`ClaimsResolver`]; `switchboard serve` mounts the same router with a
//! [`BearerTokenResolver`]; `switchboard-app` builds its state. Errors are [`ApiError`]s rendered as DESIGN.md §6's JSON body, and
//! `GET /openapi.json` documents every route: [`openapi::COMMITTED_JSON`], generated from the route table
//! by [`openapi()`] and committed.
//!
//! Layers: [`routes`](mod@routes) translate HTTP to typed calls of the [`service`] layer, which owns the
//! rules (access, descriptor protection, instance checks, health status) and works on the
//! stores of [`RegistryState`].

mod access_log;
pub mod auth;
pub mod dashboard;
pub mod edge;
pub mod error;
pub mod extract;
pub mod jwt_resolver;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod sign_in;
pub mod state;

use std::sync::LazyLock;

use axum::Router;
use axum::handler::Handler;
use axum::http::Uri;
use axum::middleware;
use axum::routing::MethodRouter;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::{PathItemExt as _, routes};

use crate::routes::{connectors, context, examples, health, instances, meta, oauth, signals};

pub use auth::{BearerTokenResolver, Caller, CallerResolver, ClaimsResolver, ProjectAccess};
pub use error::ApiError;
pub use sign_in::{OidcSettings, OidcSignIn, SignIn};
pub use state::{OAuthSettings, RegistryState, parse_public_url};

/// Declares the registry's routes once, as groups of handlers that share a path, and from that
/// one list both [`api`] (each route with its OpenAPI operation, through `routes!`, so every
/// route is documented) and `routes` (the same routes alone, for [`router`]). Building an
/// operation runs the schema code of every type it names, half a millisecond in all: the
/// router of a cold start should not pay for a document it serves only on request.
macro_rules! route_table {
    ($( [ $( $module:ident :: $handler:ident ),+ ] )*) => {
        /// Every route with its OpenAPI operation. Routes are only ever added to the table
        /// below, so each one is documented.
        pub fn api() -> OpenApiRouter<RegistryState> {
            OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
                $( .routes(routes!($( $module::$handler ),+)) )*
        }

        /// The routes of [`api`] without their OpenAPI operations: each handler at the path
        /// and methods its `#[utoipa::path]` declares.
        fn routes() -> Router<RegistryState> {
            Router::new()
                $( $( .route(
                    &utoipa_axum::paste!(<$module::[<__path_ $handler>] as utoipa::Path>::path()),
                    method_router(utoipa_axum::paste!(<$module::[<__path_ $handler>] as utoipa::Path>::methods()), $module::$handler),
                ) )+ )*
        }
    };
}

route_table! {
    [meta::service_health]
    [meta::openapi_json]
    [connectors::list_connectors, connectors::register_connector]
    [connectors::get_connector, connectors::register_connector_at, connectors::update_connector, connectors::delete_connector]
    [examples::run_descriptor_examples]
    [instances::list_instances]
    [instances::get_instance, instances::create_instance, instances::update_instance, instances::delete_instance]
    [instances::enable_instance]
    [health::test_instance]
    [health::instance_health]
    [oauth::start]
    [oauth::callback]
    [signals::list_signals]
    [context::context_packet]
}

/// `handler` on each of `methods`.
fn method_router<H, T>(methods: Vec<utoipa::openapi::HttpMethod>, handler: H) -> MethodRouter<RegistryState>
where
    H: Handler<T, RegistryState>,
    T: 'static,
{
    methods.iter().fold(MethodRouter::new(), |router, method| router.on(method.to_method_filter(), handler.clone()))
}

/// The registry API router: resolves the caller of every request, then routes it. The
/// [`dashboard`]'s open asset routes (`/`, `/dashboard/{file}`) are merged in beside the API.
pub fn router(state: RegistryState) -> Router {
    routes()
        .merge(dashboard::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.resolver.clone(), auth::resolve_caller))
        .layer(middleware::from_fn(access_log::log_request))
        .with_state(state)
}

/// The OpenAPI document of [`router`], generated from the route table (`switchboard openapi`
/// prints it).
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let mut doc = api().into_openapi();
        openapi::add_request_examples(&mut doc);
        doc
    });
    &DOC
}

/// [`openapi()`] as committed in `crates/registry-api/openapi.json`: pretty-printed, one final
/// newline.
pub fn generated_openapi_text() -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(openapi())?;
    text.push('\n');
    Ok(text)
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::UnknownRoute(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
