//! `rateLimitRpm` with `governor`: requests of one instance are spaced at least `60 s / rpm`
//! apart (no burst), so no one-minute window ever holds more than `rpm` requests.
//!
//! The limiter reads time from the engine's [`Timer`], so tests on a manual clock see its waits.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::timer::Timer;

/// `governor`'s view of a [`Timer`].
#[derive(Debug, Clone)]
pub struct TimerClock(pub Arc<dyn Timer>);

impl Clock for TimerClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.0.now()
    }
}

/// A per-instance request limiter.
#[derive(Debug)]
pub struct Limiter {
    limiter: RateLimiter<NotKeyed, InMemoryState, TimerClock, NoOpMiddleware<Instant>>,
    clock: TimerClock,
}

impl Limiter {
    /// A limiter allowing `rpm` requests per minute, evenly spaced.
    pub fn per_minute(rpm: u32, timer: Arc<dyn Timer>) -> Self {
        let rpm = rpm.max(1);
        let period = (Duration::from_secs(60) / rpm).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN));
        let clock = TimerClock(timer);
        Self { limiter: RateLimiter::direct_with_clock(quota.allow_burst(NonZeroU32::MIN), clock.clone()), clock }
    }

    /// How long to wait before the next request may go; `None` when it may go now (and the slot
    /// is taken).
    pub fn check(&self) -> Option<Duration> {
        self.limiter.check().err().map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
