//! EventBridge scheduled events → the poller: each event polls what is due until shortly before
//! the invocation's deadline; the run's summary is the function's response.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::Utc;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use switchboard_poller::{PollRunSummary, Poller};

use crate::diagnostic::diagnostic;

/// Handles one scheduled event.
pub async fn handle(poller: &Poller, event: LambdaEvent<EventBridgeEvent>) -> Result<PollRunSummary, Diagnostic> {
    tracing::info!(
        event_id = event.payload.id.as_deref().unwrap_or_default(),
        detail_type = %event.payload.detail_type,
        "scheduled poll"
    );
    poller.run_due(Utc::now(), deadline(&event.context)).await.map_err(|error| diagnostic(error.retry_class(), &error))
}

/// The invocation's deadline as an `Instant` (now, when it has already passed).
pub fn deadline(context: &Context) -> Instant {
    let left = context.deadline().duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Instant::now() + left
}
