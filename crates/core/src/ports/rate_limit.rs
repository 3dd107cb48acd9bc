//! Request rate limits shared by every process (e.g. 100 webhook deliveries per instance per
//! minute across all concurrent gateway Lambdas): a counter per key per fixed window.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// Whether one more request fits in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Counted; `remaining` more fit in this window.
    Allowed {
        /// Requests still allowed in this window.
        remaining: u32,
    },
    /// The window is full; try again after `retry_after` (the rest of the window).
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
}

/// Counts requests per key in fixed windows.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` in the window of length `window` containing the current
    /// time (windows are aligned to the Unix epoch). Refused requests are not counted. Counters
    /// expire after their window.
    async fn acquire(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError>;
}
