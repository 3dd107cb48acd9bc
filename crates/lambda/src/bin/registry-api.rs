//! `RegistryApiFunction`: API Gateway events (JWT authorizer) through the registry API's
//! router. The built-in descriptors are registered on the first request (`built_ins`). A new
//! or re-enabled polling instance is polled at once through the poll-now queue, when the
//! stack has one.

use std::sync::Arc;

use switchboard_app::Settings;
use switchboard_lambda::built_ins::{BuiltInRegistration, after_built_ins};
use switchboard_lambda::settings::ENV_POLL_NOW_QUEUE_URL;
use switchboard_lambda::{ColdStart, api_gateway, logging};
use switchboard_poller::QueuePollTrigger;
use switchboard_registry_api::ClaimsResolver;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init();
    let start = ColdStart::new().await;
    let settings = Settings {
        oauth: start.env.oauth_settings()?,
        egress: start.env.egress_allow()?,
        public_url: start.env.public_url()?,
        sign_in: start.env.dashboard_sign_in()?,
        ..Settings::default()
    };
    let app = Arc::new(start.app(settings)?);
    let mut registry = app.registry(Arc::new(ClaimsResolver));
    if let Some(queue) = start.optional_queue(ENV_POLL_NOW_QUEUE_URL) {
        registry = registry.with_poll_trigger(Arc::new(QueuePollTrigger::new(queue)));
    }
    let service = api_gateway::registry_service(registry);
    lambda_http::run(after_built_ins(service, Arc::new(BuiltInRegistration::new(app)))).await
}
