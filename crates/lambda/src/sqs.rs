//! SQS events from the ingest queue → the normaliser, and its outcome → a partial batch
//! response (`ReportBatchItemFailures`) naming only the messages that must come back.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Diagnostic, LambdaEvent};
use switchboard_core::retry_class::RetryClass;
use switchboard_normaliser::{InboundMessage, Normaliser};

use crate::diagnostic::diagnostic;

/// SQS's attribute counting deliveries of a message.
const RECEIVE_COUNT: &str = "ApproximateReceiveCount";

/// A failed record has no message id, so its failure cannot be reported alone.
#[derive(Debug, thiserror::Error)]
#[error("a failed SQS record has no messageId; the whole batch is retried")]
pub struct UnidentifiedFailure;

/// Handles one SQS event: the response lists only the failed messages. A failed record without
/// a message id cannot be listed, so the whole invocation fails (retryable) and every message
/// comes back.
pub async fn handle(normaliser: &Normaliser, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Diagnostic> {
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
            return Err(diagnostic(RetryClass::Retryable, &UnidentifiedFailure));
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
