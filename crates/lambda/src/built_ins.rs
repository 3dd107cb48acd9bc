//! The registry API registers the built-in connectors on its first request, not at its cold
//! start, so a cold start makes no network call before the runtime asks for its first event.
//!
//! Why the first request (and not a deploy-time custom resource or a step of the deploy
//! script): every request of a fresh deployment reaches the registry before any other function
//! can need a built-in (an instance is created through it), the registration's version rules
//! already make it safe to repeat and safe while two deployments overlap, and it needs no fifth
//! function, no CloudFormation response handling and no step an operator can forget. It costs
//! one read per built-in on the first request of each warm registry process, where the cold
//! start used to pay it. `switchboard serve` still registers them when it starts.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::{IntoResponse as _, Response};
use switchboard_app::App;
use switchboard_core::builtin::BuiltInError;
use switchboard_registry_api::ApiError;
use tokio::sync::OnceCell;
use tower::{Service, ServiceExt as _};

/// Registers the built-in connectors once per process, on first need.
pub struct BuiltInRegistration {
    app: Arc<App>,
    registered: OnceCell<()>,
}

impl BuiltInRegistration {
    /// Registers into `app`'s descriptor store when first asked.
    pub fn new(app: Arc<App>) -> Self {
        Self { app, registered: OnceCell::new() }
    }

    /// Registers the built-ins unless this process already has; concurrent callers wait for
    /// the one registration. A failure is returned and the next call tries again.
    pub async fn ensure(&self) -> Result<(), BuiltInError> {
        self.registered.get_or_try_init(|| async { self.app.register_built_ins().await.map(drop) }).await.copied()
    }

    /// Whether this process has registered them.
    pub fn is_done(&self) -> bool {
        self.registered.initialized()
    }
}

/// `service` behind the registration: each request first waits until the built-ins are
/// registered. When that fails the request is answered 500 `internal` (the cause is logged)
/// and the next request tries again.
pub fn after_built_ins<R, S>(
    service: S,
    registration: Arc<BuiltInRegistration>,
) -> impl Service<R, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
where
    R: Send + 'static,
    S: Service<R, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static,
{
    tower::service_fn(move |request: R| {
        let service = service.clone();
        let registration = registration.clone();
        async move {
            if let Err(error) = registration.ensure().await {
                return Ok(ApiError::internal("registering the built-in connectors", error).into_response());
            }
            service.oneshot(request).await
        }
    })
}
