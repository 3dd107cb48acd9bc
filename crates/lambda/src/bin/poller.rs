//! `PollerFunction`: each EventBridge scheduled event polls the due connector instances; each
//! batch from the poll-now queue polls the instances it names.

use lambda_runtime::service_fn;
use switchboard_app::Settings;
use switchboard_lambda::settings::ENV_INGEST_QUEUE_URL;
use switchboard_lambda::{ColdStart, logging, poll_now};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let start = ColdStart::new().await;
    let settings =
        Settings { poller: start.env.poller_settings()?, egress: start.env.egress_allow()?, ..Settings::default() };
    let poller = start.app(settings)?.poller(start.queue(ENV_INGEST_QUEUE_URL)?);
    lambda_runtime::run(service_fn(|event| poll_now::handle(&poller, event))).await
}
