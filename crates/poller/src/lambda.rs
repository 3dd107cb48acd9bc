//! Running the poller in AWS Lambda on an EventBridge schedule: wiring from the environment,
//! JSON logs, and the run's deadline from the invocation context.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use switchboard_aws::{AwsClients, AwsSettings, ENV_INGEST_QUEUE_URL, SqsQueue};
use switchboard_core::catalog::{ConnectorCatalog, DEFAULT_CACHE_TTL};
use switchboard_poll::{PollEngine, PollOptions};

use crate::{PollRunSummary, Poller, PollerError, PollerSettings};

/// Instances polled at the same time (default 4).
pub const ENV_CONCURRENCY: &str = "SWITCHBOARD_POLL_CONCURRENCY";
/// Seconds kept free before the Lambda deadline (default 40).
pub const ENV_SAFETY_MARGIN: &str = "SWITCHBOARD_POLL_SAFETY_MARGIN_SECONDS";

/// JSON logs for CloudWatch (shared by the four functions).
pub use switchboard_aws::logging::init_lambda_tracing as init_tracing;

/// The poller over DynamoDB, Secrets Manager and the ingest queue, configured from the
/// environment (`SWITCHBOARD_TABLE_NAME`, `SWITCHBOARD_SECRET_PREFIX`,
/// `SWITCHBOARD_INGEST_QUEUE_URL`, and optionally [`ENV_CONCURRENCY`] and [`ENV_SAFETY_MARGIN`]).
pub fn poller_from_env(clients: &AwsClients) -> Result<Poller, PollerError> {
    let stores = AwsSettings::from_env().map_err(|e| PollerError::Settings(e.to_string()))?.stores(clients);
    let queue_url = std::env::var(ENV_INGEST_QUEUE_URL)
        .ok()
        .filter(|url| !url.is_empty())
        .ok_or_else(|| PollerError::Settings(format!("environment variable {ENV_INGEST_QUEUE_URL} is not set")))?;
    let ingest = Arc::new(SqsQueue::new(clients.sqs.clone(), queue_url));
    let engine =
        PollEngine::with_default_client(PollOptions::default()).map_err(|e| PollerError::Settings(e.to_string()))?;
    let catalog = ConnectorCatalog::new(stores.descriptors.clone(), switchboard_natives::registry(), DEFAULT_CACHE_TTL)
        .with_poll_driver(Arc::new(engine));
    Ok(Poller::new(stores, Arc::new(catalog), ingest, settings_from_env()?))
}

/// Default settings with the overrides of [`ENV_CONCURRENCY`] and [`ENV_SAFETY_MARGIN`].
pub fn settings_from_env() -> Result<PollerSettings, PollerError> {
    let number = |name: &str| -> Result<Option<u64>, PollerError> {
        match std::env::var(name) {
            Ok(text) if !text.trim().is_empty() => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| PollerError::Settings(format!("environment variable {name} must be a whole number"))),
            _ => Ok(None),
        }
    };
    let mut settings = PollerSettings::default();
    if let Some(concurrency) = number(ENV_CONCURRENCY)? {
        settings.concurrency = usize::try_from(concurrency).unwrap_or(usize::MAX).max(1);
    }
    if let Some(seconds) = number(ENV_SAFETY_MARGIN)? {
        settings.safety_margin = Duration::from_secs(seconds);
    }
    Ok(settings)
}

/// Handles one scheduled event: polls what is due until shortly before the invocation's
/// deadline. The summary is the function's response.
pub async fn handle(poller: &Poller, event: LambdaEvent<EventBridgeEvent>) -> Result<PollRunSummary, PollerError> {
    tracing::info!(
        event_id = event.payload.id.as_deref().unwrap_or_default(),
        detail_type = %event.payload.detail_type,
        "scheduled poll"
    );
    poller.run_due(Utc::now(), deadline(&event.context)).await
}

/// The invocation's deadline as an `Instant` (now, when it has already passed).
pub fn deadline(context: &Context) -> Instant {
    let left = context.deadline().duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Instant::now() + left
}
