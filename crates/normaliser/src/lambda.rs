//! Running the normaliser in AWS Lambda on the ingest queue's SQS event source
//! (`ReportBatchItemFailures`): wiring from the environment, JSON logs, and the translation
//! between SQS events and [`Normaliser::process_batch`].

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use switchboard_aws::{AwsClients, AwsSettings, ENV_SIGNALS_QUEUE_URL, SqsQueue};
use switchboard_core::catalog::{ConnectorCatalog, DEFAULT_CACHE_TTL};

use crate::{InboundMessage, Normaliser, NormaliserError, NormaliserSettings};

/// SQS's attribute counting deliveries of a message.
const RECEIVE_COUNT: &str = "ApproximateReceiveCount";

/// JSON logs for CloudWatch (shared by the four functions).
pub use switchboard_aws::logging::init_lambda_tracing as init_tracing;

/// The normaliser over DynamoDB and the signals queue, configured from the environment
/// (`SWITCHBOARD_TABLE_NAME`, `SWITCHBOARD_SECRET_PREFIX`, `SWITCHBOARD_SIGNALS_QUEUE_URL`).
pub fn normaliser_from_env(clients: &AwsClients) -> Result<Normaliser, NormaliserError> {
    let stores = AwsSettings::from_env().map_err(|e| NormaliserError::Settings(e.to_string()))?.stores(clients);
    let queue_url = std::env::var(ENV_SIGNALS_QUEUE_URL)
        .ok()
        .filter(|url| !url.is_empty())
        .ok_or_else(|| NormaliserError::Settings(format!("environment variable {ENV_SIGNALS_QUEUE_URL} is not set")))?;
    let signals = Arc::new(SqsQueue::new(clients.sqs.clone(), queue_url));
    let catalog =
        Arc::new(ConnectorCatalog::new(stores.descriptors.clone(), switchboard_natives::registry(), DEFAULT_CACHE_TTL));
    Ok(Normaliser::new(catalog, &stores, signals, NormaliserSettings::default()))
}

/// Handles one SQS event: the response lists only the failed messages. A failed record without
/// a message id cannot be listed, so the whole invocation fails and every message comes back.
pub async fn handle(
    normaliser: &Normaliser,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, NormaliserError> {
    let messages: Vec<InboundMessage> = event.payload.records.into_iter().map(inbound).collect();
    let outcome = normaliser.process_batch(&messages).await;
    tracing::info!(
        messages = messages.len(),
        failed = outcome.failed_ids.len(),
        signals = outcome.signals,
        duplicates = outcome.duplicates,
        ignored = outcome.ignored,
        "batch normalised"
    );
    let mut response = SqsBatchResponse::default();
    for id in outcome.failed_ids {
        if id.is_empty() {
            return Err(NormaliserError::UnidentifiedFailure);
        }
        response.add_failure(id);
    }
    Ok(response)
}

/// An SQS record as an [`InboundMessage`] (a missing body is an empty, hence malformed, one).
pub fn inbound(record: SqsMessage) -> InboundMessage {
    let receive_count = record.attributes.get(RECEIVE_COUNT).and_then(|n| n.parse().ok()).unwrap_or(1);
    InboundMessage { id: record.message_id.unwrap_or_default(), body: record.body.unwrap_or_default(), receive_count }
}
