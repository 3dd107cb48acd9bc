//! The `webhook-gateway` Lambda function (`WebhookGatewayFunction`): API Gateway → [`router`].

use std::sync::Arc;

use switchboard_aws::AwsClients;
use switchboard_webhook_gateway::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_tracing();
    let clients = AwsClients::from_env().await;
    let rate_limiter = Arc::new(todo_rate_limiter());
    let state = lambda::state_from_env(&clients, rate_limiter)?;
    lambda_http::run(lambda::service(state)).await
}
