//! The poller's two triggers: EventBridge scheduled events ([`crate::schedule`]) and SQS
//! batches from the poll-now queue, where the registry API asks for a new or re-enabled instance
//! to be polled at once (`switchboard_poller::QueuePollTrigger`). A batch's instances are polled
//! together; the response names only the messages that must come back: unreadable ones (after
//! three receives they go to the poller DLQ) or, when the poll itself could not start, all.

use std::collections::BTreeSet;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use switchboard_poller::{PollNowRequest, PollRunSummary, Poller};

use crate::schedule;

/// What invokes the poller function.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PollerEvent {
    /// Poll-now requests (an SQS event: `{"Records": [...]}`).
    PollNow(SqsEvent),
    /// A scheduled run.
    Scheduled(EventBridgeEvent),
}

/// The poller function's response: a scheduled run's summary, or a poll-now batch's failures.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PollerResponse {
    /// The scheduled run's summary.
    Run(PollRunSummary),
    /// The messages of a poll-now batch that must come back.
    Batch(SqsBatchResponse),
}

/// Handles either trigger.
pub async fn handle(poller: &Poller, event: LambdaEvent<PollerEvent>) -> Result<PollerResponse, Diagnostic> {
    let LambdaEvent { payload, context } = event;
    match payload {
        PollerEvent::Scheduled(scheduled) => {
            schedule::handle(poller, LambdaEvent::new(scheduled, context)).await.map(PollerResponse::Run)
        }
        PollerEvent::PollNow(batch) => {
            Ok(PollerResponse::Batch(poll_now(poller, batch, schedule::deadline(&context)).await))
        }
    }
}

/// Polls the instances a poll-now batch names, each once.
async fn poll_now(poller: &Poller, batch: SqsEvent, deadline: std::time::Instant) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut readable = Vec::new();
    let mut keys = BTreeSet::new();
    for record in batch.records {
        let id = record.message_id.unwrap_or_default();
        match PollNowRequest::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(key) => {
                keys.insert(key);
                readable.push(id);
            }
            Err(error) => {
                tracing::warn!(message_id = %id, %error, "unreadable poll-now request");
                report(&mut response, id);
            }
        }
    }
    if keys.is_empty() {
        return response;
    }
    let keys: Vec<_> = keys.into_iter().collect();
    match poller.poll_now(&keys, deadline).await {
        Ok(summary) => tracing::info!(
            requested = keys.len(),
            polled = summary.due,
            succeeded = summary.succeeded,
            failed = summary.failed,
            items = summary.items,
            "poll-now batch done"
        ),
        Err(error) => {
            tracing::error!(%error, "poll-now batch could not be polled; its requests come back");
            readable.into_iter().for_each(|id| report(&mut response, id));
        }
    }
    response
}

/// Names a message that must come back; one without an id cannot be named, and its instance is
/// polled at the next scheduled run instead.
fn report(response: &mut SqsBatchResponse, id: String) {
    if !id.is_empty() {
        response.add_failure(id);
    }
}
