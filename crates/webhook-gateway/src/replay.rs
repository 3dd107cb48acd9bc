//! Replay protection: each provider delivery id is accepted once per instance within the
//! connector's replay window.
//!
//! When the ingest queue can send a message and record its key in one write
//! ([`GatewayState::ingest_once`], the embedded database), that one write is all: the envelope
//! and the record of its delivery are stored together or not at all, and of two concurrent
//! copies one is sent and the other is a duplicate. Otherwise (SQS and DynamoDB, which share no
//! transaction) the claim protocol below runs.
//!
//! Two dedup records per delivery id (`DedupStore`), both per instance:
//! - the **claim**, held while one request enqueues the envelope. It is taken with an
//!   insert-if-absent, so of two concurrent copies only one proceeds; the other is answered 503
//!   with `Retry-After` (not 2xx: if the first copy's enqueue then fails, the provider must still
//!   have a copy to retry). A process that dies holding it frees the id after
//!   [`GatewaySettings::delivery_claim`](crate::GatewaySettings::delivery_claim).
//! - the **record** that the delivery was accepted, written only after the envelope is in the
//!   queue and kept for the replay window. A failed enqueue writes no record (and frees the
//!   claim), so the provider's retry goes through.
//!
//! The claim holder looks for the record with an insert-if-absent of one millisecond: only the
//! claim holder ever writes the record, so that probe cannot meet another probe, and an
//! "inserted" answer leaves nothing that outlives the millisecond. Records and claims are keyed
//! by a SHA-256 of the delivery id, so any id a provider sends makes a short, safe key.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use switchboard_core::ports::{DedupOutcome, InstanceKey, QueueMessage};

use crate::error::GatewayError;
use crate::ingest;
use crate::state::GatewayState;

/// How long the record probe's own insert lives (see the module documentation).
const PROBE_TTL: Duration = Duration::from_millis(1);

/// What sending a delivery once did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// The envelope is on the ingest queue and the delivery is recorded for the window.
    Accepted,
    /// The delivery was accepted before within the window: nothing was sent.
    Duplicate,
}

/// Puts `message` on the ingest queue unless `delivery_id` was accepted for `key` within
/// `window`: 503 when the queue or the dedup store fails, or (claim protocol only) while
/// another copy of the delivery is being enqueued.
pub(crate) async fn enqueue_once(
    state: &GatewayState,
    key: &InstanceKey,
    delivery_id: &str,
    window: Duration,
    message: &QueueMessage,
) -> Result<Enqueued, GatewayError> {
    let instance = instance_part(key, delivery_id);
    let record_key = format!("webhook-delivery/{instance}");
    if let Some(once) = &state.ingest_once {
        return match once.send_once(&record_key, window, message).await {
            Ok(DedupOutcome::Inserted) => Ok(Enqueued::Accepted),
            Ok(DedupOutcome::Duplicate) => Ok(Enqueued::Duplicate),
            Err(source) => Err(ingest::unavailable(state, source)),
        };
    }
    let claim = Claim { claim_key: format!("webhook-claim/{instance}"), record_key, window };
    let claim = match claim.take(state).await? {
        Claimed::Fresh(claim) => claim,
        Claimed::Duplicate => return Ok(Enqueued::Duplicate),
    };
    match ingest::send(state, message).await {
        Ok(()) => {
            claim.accepted(state).await;
            Ok(Enqueued::Accepted)
        }
        Err(error) => {
            claim.release(state).await;
            Err(error)
        }
    }
}

/// The instance's part of both dedup keys: project, connector and a digest of the delivery id.
fn instance_part(key: &InstanceKey, delivery_id: &str) -> String {
    let digest = hex::encode(Sha256::digest(delivery_id.as_bytes()));
    format!("{}/{}/{}", key.project_id, key.connector_id, digest)
}

/// What claiming a delivery id found.
enum Claimed {
    /// First time within the window: enqueue, then [`Claim::accepted`] or [`Claim::release`].
    Fresh(Claim),
    /// Accepted before within the window: answer 2xx, enqueue nothing.
    Duplicate,
}

/// The right to enqueue one delivery, held until accepted or released.
struct Claim {
    claim_key: String,
    record_key: String,
    window: Duration,
}

impl Claim {
    /// Takes the claim: [`Claimed::Fresh`] when no copy of the delivery was accepted within the
    /// window, [`Claimed::Duplicate`] when one was, 503 when another copy is being enqueued right
    /// now or the dedup store fails.
    async fn take(self, state: &GatewayState) -> Result<Claimed, GatewayError> {
        let unavailable = |source| GatewayError::Unavailable {
            action: "checking the delivery id",
            retry_after: state.settings.unavailable_retry_after,
            source,
        };
        let claimed =
            state.dedup.insert_if_absent(&self.claim_key, state.settings.delivery_claim).await.map_err(unavailable)?;
        if claimed == DedupOutcome::Duplicate {
            return Err(GatewayError::DeliveryInProgress { retry_after: state.settings.unavailable_retry_after });
        }
        match state.dedup.insert_if_absent(&self.record_key, PROBE_TTL).await {
            Ok(DedupOutcome::Inserted) => Ok(Claimed::Fresh(self)),
            Ok(DedupOutcome::Duplicate) => {
                self.release(state).await;
                Ok(Claimed::Duplicate)
            }
            Err(source) => {
                self.release(state).await;
                Err(unavailable(source))
            }
        }
    }

    /// The envelope is in the queue: records the delivery for the window and frees the claim. A
    /// record that cannot be written is logged (the delivery is accepted all the same; the claim
    /// is kept until it expires, so copies arriving meanwhile still get no second envelope).
    async fn accepted(self, state: &GatewayState) {
        if let Err(error) = state.dedup.confirm(&self.record_key, self.window).await {
            tracing::error!(%error, "could not record an accepted delivery id; a later copy may be enqueued again");
            return;
        }
        self.release(state).await;
    }

    /// The envelope was not enqueued: frees the claim so the provider's retry is accepted.
    async fn release(self, state: &GatewayState) {
        if let Err(error) = state.dedup.forget(&self.claim_key).await {
            tracing::warn!(%error, "could not free a delivery claim; retries wait until it expires");
        }
    }
}
