//! The `poller` Lambda function (`PollerFunction`): each EventBridge scheduled event polls the
//! due connector instances, with the SDK clients built once per cold start.

use lambda_runtime::service_fn;
use switchboard_aws::AwsClients;
use switchboard_poller::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let clients = AwsClients::from_env().await;
    let poller = lambda::poller_from_env(&clients)?;
    lambda_runtime::run(service_fn(|event| lambda::handle(&poller, event))).await
}
