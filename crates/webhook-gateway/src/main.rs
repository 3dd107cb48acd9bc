//! The `webhook-gateway` Lambda function (`WebhookGatewayFunction`): API Gateway events through
//! the gateway router, with the SDK clients built once per cold start.

use switchboard_aws::AwsClients;
use switchboard_webhook_gateway::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_tracing();
    let clients = AwsClients::from_env().await;
    let state = lambda::state_from_env(&clients)?;
    lambda_http::run(lambda::service(state)).await
}
