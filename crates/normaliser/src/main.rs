//! The `normaliser` Lambda function (`NormaliserFunction`): SQS batches from the ingest queue
//! through the normaliser, with the SDK clients built once per cold start.

use lambda_runtime::service_fn;
use switchboard_aws::AwsClients;
use switchboard_normaliser::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let clients = AwsClients::from_env().await;
    let normaliser = lambda::normaliser_from_env(&clients)?;
    lambda_runtime::run(service_fn(|event| lambda::handle(&normaliser, event))).await
}
