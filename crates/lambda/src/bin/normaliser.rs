//! `NormaliserFunction`: SQS batches from the ingest queue through the normaliser.

use lambda_runtime::service_fn;
use switchboard_app::Settings;
use switchboard_lambda::settings::ENV_SIGNALS_QUEUE_URL;
use switchboard_lambda::{ColdStart, logging, sqs};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let start = ColdStart::new().await;
    let normaliser = start.app(Settings::default())?.normaliser(start.queue(ENV_SIGNALS_QUEUE_URL)?);
    lambda_runtime::run(service_fn(|event| sqs::handle(&normaliser, event))).await
}
