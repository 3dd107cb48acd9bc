//! The envelope as an ingest-queue message, and its send.

use serde::Serialize;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{InstanceKey, MAX_MESSAGE_BYTES, QueueMessage, RetryPolicy, StoreError, send_batch};

use crate::error::GatewayError;
use crate::state::GatewayState;

/// The envelope as a message tagged with its instance; 413 if the queue could not take it.
pub(crate) fn message<P: Serialize>(
    state: &GatewayState,
    key: &InstanceKey,
    envelope: &Envelope<P>,
) -> Result<QueueMessage, GatewayError> {
    let message = QueueMessage::for_instance(envelope.to_json(), key);
    if message.size_bytes() > MAX_MESSAGE_BYTES {
        // Only reachable when the body limit is configured above the queue's message limit.
        return Err(GatewayError::PayloadTooLarge { limit_bytes: state.settings.body_limit_bytes });
    }
    Ok(message)
}

/// Puts `message` on the ingest queue; 503 if the queue refuses.
pub(crate) async fn send(state: &GatewayState, message: &QueueMessage) -> Result<(), GatewayError> {
    send_batch(state.ingest.as_ref(), std::slice::from_ref(message), RetryPolicy::default(), tokio::time::sleep)
        .await
        .map_err(|source| unavailable(state, source))
}

/// The 503 of an ingest queue that did not take the envelope.
pub(crate) fn unavailable(state: &GatewayState, source: StoreError) -> GatewayError {
    GatewayError::Unavailable {
        action: "sending the envelope to the ingest queue",
        retry_after: state.settings.unavailable_retry_after,
        source,
    }
}
