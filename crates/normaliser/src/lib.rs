//! The normaliser: takes raw envelopes off the ingest queue (a webhook delivery or one polled
//! item each), maps them with their connector's descriptor, drops duplicate signals, sends the
//! rest to the signals queue and counts what happened (DESIGN.md §1). An envelope that carries
//! a notice Switchboard raised itself (a `connector_health` signal from the poller,
//! `switchboard_core::health_notice`) is not mapped: its signal is deduplicated and sent as it is.
//!
//! [`Normaliser::process_batch`] handles one SQS batch and returns only the ids of the messages
//! that must come back (`ReportBatchItemFailures`). It knows nothing of where it runs: the
//! Lambda function (`switchboard-lambda`) feeds it SQS events and `switchboard serve` feeds it
//! the embedded queue; `switchboard-app` builds it.
//!
//! Delivery is at least once: a signal is recorded in the dedup store before it is sent, and
//! the record is forgotten again when the send fails, so the message's retry sends it.

mod error;
mod normaliser;

pub use error::{NormaliserError, RetryClass};
pub use normaliser::{
    ATTR_SIGNAL_TYPE, BatchOutcome, DEFAULT_CLAIM_TTL, DEFAULT_CONCURRENCY, DEFAULT_DEDUP_TTL,
    DEFAULT_RECENT_SIGNAL_TTL, InboundMessage, Normaliser, NormaliserSettings,
};
