//! Webhook gateway behaviour, each test in its own SQLite world.

// Test helpers outside #[test] functions unwrap too: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

mod deliveries;
mod families;
mod limits;
mod refusals;
mod replays;
mod support;
