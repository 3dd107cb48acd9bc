//! Rate limits, in buckets that cannot starve each other.
//!
//! Verified deliveries count in their instance's bucket ([`GatewaySettings::rate_limit`]).
//! Requests that were not verified (a signature that failed, or a handshake a descriptor lets
//! through unsigned) count in two other buckets: their instance's and their source address's.
//! A full unverified bucket turns further unverified requests into 429, and nothing else: since
//! a request is only known to be unverified after its signature was checked, a flood of
//! unsigned POSTs can never use up the budget of the deliveries the provider really sent.
//!
//! A failing limiter lets the request through (logged): dropping authentic deliveries is worse
//! than admitting a few extra.
//!
//! [`GatewaySettings::rate_limit`]: crate::GatewaySettings::rate_limit

use std::time::Duration;

use switchboard_core::ports::{InstanceKey, RateDecision};

use crate::error::GatewayError;
use crate::source::Source;
use crate::state::GatewayState;

/// Counts a verified delivery in its instance's bucket; 429 when the bucket is full.
pub(crate) async fn count_verified(state: &GatewayState, key: &InstanceKey) -> Result<(), GatewayError> {
    let bucket = format!("webhook/{}/{}", key.project_id, key.connector_id);
    match acquire(state, &bucket, state.settings.rate_limit).await {
        Some(retry_after) => Err(GatewayError::RateLimited { retry_after }),
        None => Ok(()),
    }
}

/// Counts an unverified request in its source's bucket, then its instance's; `Some(wait)` when
/// either is full (a request refused by the first is not counted by the second).
pub(crate) async fn count_unverified(state: &GatewayState, key: &InstanceKey, source: Source) -> Option<Duration> {
    let settings = &state.settings;
    let by_source = format!("webhook-unverified-source/{source}");
    if let Some(wait) = acquire(state, &by_source, settings.unverified_source_limit).await {
        tracing::debug!(%source, "unverified requests from this source over their limit");
        return Some(wait);
    }
    let by_instance = format!("webhook-unverified/{}/{}", key.project_id, key.connector_id);
    acquire(state, &by_instance, settings.unverified_limit).await
}

/// Counts one request in `bucket`: `Some(wait)` when it is full, `None` when counted (or when
/// the limiter failed).
async fn acquire(state: &GatewayState, bucket: &str, limit: u32) -> Option<Duration> {
    match state.rate_limiter.acquire(bucket, limit, state.settings.rate_window).await {
        Ok(RateDecision::Allowed { .. }) => None,
        Ok(RateDecision::Limited { retry_after }) => Some(retry_after),
        Err(error) => {
            tracing::warn!(error = %error, bucket, "rate limiter unavailable; request let through");
            None
        }
    }
}
