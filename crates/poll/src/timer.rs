//! The engine's only source of time: waits (rate limits, `Retry-After`, backoff), the run's time
//! budget and token expiry all go through a [`Timer`], so tests can run them on a manual clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A clock that can also wait.
#[async_trait::async_trait]
pub trait Timer: Send + Sync + std::fmt::Debug {
    /// Monotonic now, for durations and budgets.
    fn now(&self) -> Instant;
    /// Wall-clock now, for token expiry and HTTP dates.
    fn utc_now(&self) -> DateTime<Utc>;
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The real clock: `std` time and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[async_trait::async_trait]
impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn utc_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that only moves when something sleeps on it (or [`ManualTimer::advance`] is called),
/// recording every sleep. For tests: a `Retry-After: 2` shows up as a recorded 2 s sleep
/// without the test waiting.
#[derive(Debug, Clone)]
pub struct ManualTimer {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    instant_start: Instant,
    wall_start: DateTime<Utc>,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualTimer {
    /// A manual clock whose wall time starts at `wall_start`.
    pub fn new(wall_start: DateTime<Utc>) -> Self {
        let state =
            ManualState { instant_start: Instant::now(), wall_start, elapsed: Duration::ZERO, sleeps: Vec::new() };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, duration: Duration) {
        self.lock().elapsed += duration;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// Total time the clock has moved.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Timer for ManualTimer {
    fn now(&self) -> Instant {
        let state = self.lock();
        state.instant_start + state.elapsed
    }

    fn utc_now(&self) -> DateTime<Utc> {
        let state = self.lock();
        chrono::TimeDelta::from_std(state.elapsed)
            .ok()
            .and_then(|d| state.wall_start.checked_add_signed(d))
            .unwrap_or(state.wall_start)
    }

    async fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.elapsed += duration;
        state.sleeps.push(duration);
    }
}
