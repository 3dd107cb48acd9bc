//! Limits the gateway enforces, with the specification's defaults. (The Lambda function reads
//! overrides from its environment, `switchboard serve` from its flags.)

use std::time::Duration;

/// Largest accepted webhook body (spec: 256 KB).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 256 * 1024;
/// Deliveries accepted per instance per window (spec: 100 per minute).
pub const DEFAULT_RATE_LIMIT: u32 = 100;
/// Length of a rate-limit window.
pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// Unverified requests (failed verifications, handshakes answered unsigned) answered per
/// instance per window before they get 429. Counted apart from verified deliveries.
pub const DEFAULT_UNVERIFIED_LIMIT: u32 = 100;
/// Unverified requests answered per source address (an IPv6 source counts by its /64) per
/// window, across all instances, before they get 429.
pub const DEFAULT_UNVERIFIED_SOURCE_LIMIT: u32 = 30;
/// How long a delivery id is held while its envelope is being enqueued. A second copy arriving
/// meanwhile gets 503 with `Retry-After`; a process that dies holding it frees the id after this.
pub const DEFAULT_DELIVERY_CLAIM: Duration = Duration::from_secs(60);
/// How long the previous webhook secret is still accepted after a rotation.
pub const DEFAULT_SECRET_ROTATION_GRACE: Duration = switchboard_core::ports::DEFAULT_ROTATION_GRACE;
/// How long a provider is asked to wait when the queue or a store is unavailable.
pub const DEFAULT_UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The gateway's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Bodies larger than this are refused with 413 without being read further.
    pub body_limit_bytes: usize,
    /// Verified deliveries accepted per instance per [`rate_window`](Self::rate_window); more
    /// get 429.
    pub rate_limit: u32,
    /// The rate-limit window (of every bucket).
    pub rate_window: Duration,
    /// Unverified requests answered per instance per window; more get 429. Never blocks a
    /// verified delivery.
    pub unverified_limit: u32,
    /// Unverified requests answered per source address per window; more get 429. Never blocks
    /// a verified delivery.
    pub unverified_source_limit: u32,
    /// How long a delivery id is held while its envelope is enqueued.
    pub delivery_claim: Duration,
    /// `Retry-After` sent with 503 when the queue or a store is unavailable.
    pub unavailable_retry_after: Duration,
    /// How long after a rotation a delivery signed with the previous secret is still accepted
    /// (so the provider can switch over); after it only the current secret verifies.
    pub secret_rotation_grace: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_window: DEFAULT_RATE_WINDOW,
            unverified_limit: DEFAULT_UNVERIFIED_LIMIT,
            unverified_source_limit: DEFAULT_UNVERIFIED_SOURCE_LIMIT,
            delivery_claim: DEFAULT_DELIVERY_CLAIM,
            unavailable_retry_after: DEFAULT_UNAVAILABLE_RETRY_AFTER,
            secret_rotation_grace: DEFAULT_SECRET_ROTATION_GRACE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_specification() {
        let settings = GatewaySettings::default();
        assert_eq!(settings.body_limit_bytes, 256 * 1024);
        assert_eq!((settings.rate_limit, settings.rate_window), (100, Duration::from_secs(60)));
        assert_eq!(settings.secret_rotation_grace, Duration::from_secs(24 * 60 * 60));
    }
}
