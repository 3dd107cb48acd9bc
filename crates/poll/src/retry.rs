//! Retry policy: how long to wait before trying again after a 429, a 5xx or a network error.
//!
//! A rate-limit answer's own wait wins: `Retry-After` (seconds or an HTTP date), else a reset
//! header (`RateLimit-Reset`, `X-RateLimit-Reset`, `X-Rate-Limit-Reset`: seconds to wait, or a
//! unix time in seconds or milliseconds). Otherwise exponential backoff with jitter. Attempts and
//! single waits are bounded.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles for each further attempt.
    pub base_delay: Duration,
    /// Longest backoff between two attempts.
    pub max_delay: Duration,
    /// Longest wait a rate-limited API may ask for before we give up for this run and report
    /// "rate limited" with the wait, instead of holding the run open.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Backoff after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)`, capped,
    /// then a random point in its upper half so that many clients do not retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The wait a rate-limit answer asks for: `Retry-After`, else a reset header.
pub fn rate_limit_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    retry_after(headers, now).or_else(|| reset_wait(headers, now))
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

/// `Retry-After` in seconds only (for answers where no clock is at hand).
pub fn retry_after_seconds(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Unix times below this are taken as "seconds to wait" (about 1973 in seconds).
const EPOCH_THRESHOLD: u64 = 100_000_000;

fn reset_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = ["ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset"]
        .iter()
        .find_map(|name| headers.get(*name))?
        .to_str()
        .ok()?
        .trim();
    let number: f64 = value.parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    // Truncation is intended: reset headers are whole seconds or milliseconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = number as u64;
    if whole < EPOCH_THRESHOLD {
        return Some(Duration::from_secs_f64(number));
    }
    let reset_ms = if whole >= EPOCH_THRESHOLD * 1000 { whole } else { whole.saturating_mul(1000) };
    let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    Some(Duration::from_millis(reset_ms.saturating_sub(now_ms)))
}

/// Whether a 403 is GitHub-style rate limiting rather than a permission problem.
pub fn is_rate_limit_403(headers: &HeaderMap) -> bool {
    headers.get(RETRY_AFTER).is_some()
        || ["x-ratelimit-remaining", "ratelimit-remaining"]
            .iter()
            .any(|name| headers.get(*name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).expect("valid"));
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").expect("valid").with_timezone(&Utc)
    }

    #[test]
    fn retry_after_seconds_and_http_dates_are_understood() {
        assert_eq!(retry_after(&headers(&[("retry-after", "2")]), now()), Some(Duration::from_secs(2)));
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]);
        assert_eq!(retry_after(&date, now()), Some(Duration::from_secs(30)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(retry_after(&past, now()), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now()), None);
    }

    #[test]
    fn reset_headers_accept_delays_and_unix_times() {
        let epoch = now().timestamp();
        assert_eq!(rate_limit_wait(&headers(&[("ratelimit-reset", "7")]), now()), Some(Duration::from_secs(7)));
        let github = headers(&[("x-ratelimit-reset", &(epoch + 42).to_string())]);
        assert_eq!(rate_limit_wait(&github, now()), Some(Duration::from_secs(42)));
        let millis = headers(&[("x-rate-limit-reset", &((epoch + 3) * 1000).to_string())]);
        assert_eq!(rate_limit_wait(&millis, now()), Some(Duration::from_secs(3)));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let policy = RetryPolicy { max_delay: Duration::from_secs(4), ..RetryPolicy::default() };
        for attempt in 1..=10 {
            let d = policy.backoff(attempt);
            let full = (policy.base_delay * 2u32.pow(attempt - 1)).min(policy.max_delay);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} outside {full:?}/2..={full:?}");
        }
    }
}
