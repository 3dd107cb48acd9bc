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

/// The fixed window containing an instant, aligned to the Unix epoch. Both adapters count per
/// window with it, so a key's windows are the same whichever process asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedWindow {
    /// Length in milliseconds (at least 1).
    pub length_ms: i64,
    /// Start in milliseconds since the epoch, a multiple of `length_ms`.
    pub start_ms: i64,
}

impl FixedWindow {
    /// The window of length `length` containing `at_ms` (milliseconds since the epoch).
    /// [`StoreError::Invalid`] for a window shorter than a millisecond or absurdly long.
    pub fn containing(at_ms: i64, length: Duration) -> Result<Self, StoreError> {
        let length_ms = i64::try_from(length.as_millis())
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| StoreError::Invalid(format!("rate limit window {length:?} must be 1 ms or longer")))?;
        Ok(Self { length_ms, start_ms: at_ms.div_euclid(length_ms).saturating_mul(length_ms) })
    }

    /// When the window ends (exclusive), in milliseconds since the epoch.
    pub fn end_ms(&self) -> i64 {
        self.start_ms.saturating_add(self.length_ms)
    }

    /// The rest of the window after `at_ms`: how long a refused caller should wait.
    pub fn rest(&self, at_ms: i64) -> Duration {
        Duration::from_millis(u64::try_from(self.end_ms().saturating_sub(at_ms)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_epoch_and_report_their_rest() {
        let window = FixedWindow::containing(125_300, Duration::from_secs(60)).unwrap();
        assert_eq!((window.start_ms, window.end_ms()), (120_000, 180_000));
        assert_eq!(window.rest(125_300), Duration::from_millis(54_700));
    }

    #[test]
    fn a_zero_window_is_invalid() {
        assert!(matches!(FixedWindow::containing(1, Duration::ZERO), Err(StoreError::Invalid(_))));
    }
}
