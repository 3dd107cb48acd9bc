//! `RegistryApiFunction`: the registry API behind API Gateway (HTTP API, JWT authorizer).

use switchboard_registry_api::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_tracing();
    let clients = switchboard_aws::AwsClients::from_env().await;
    let state = lambda::state_from_env(&clients)?;
    lambda::register_built_ins(&state).await?;
    lambda_http::run(lambda::service(state)).await
}
