//! `RegistryApiFunction`: API Gateway events (JWT authorizer) through the registry API's
//! router. The cold start registers the built-in descriptors.

use std::sync::Arc;

use switchboard_app::Settings;
use switchboard_lambda::{ColdStart, api_gateway, logging};
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
    let app = start.app(settings)?;
    app.register_built_ins().await?;
    lambda_http::run(api_gateway::registry_service(app.registry(Arc::new(ClaimsResolver))?)).await
}
