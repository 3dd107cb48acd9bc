//! `WebhookGatewayFunction`: API Gateway events through the webhook gateway's router.

use switchboard_app::Settings;
use switchboard_lambda::settings::ENV_INGEST_QUEUE_URL;
use switchboard_lambda::{ColdStart, api_gateway, logging};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init();
    let start = ColdStart::new().await;
    let settings = Settings { gateway: start.env.gateway_settings()?, ..Settings::default() };
    let state = start.app(settings)?.gateway(start.queue(ENV_INGEST_QUEUE_URL)?);
    lambda_http::run(api_gateway::gateway_service(state)).await
}
