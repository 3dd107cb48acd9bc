//! The Lambda edge in process: every sample event in `events/` through its function's handler,
//! as the binaries run them, over applications built by `switchboard-app` on SQLite; and the
//! edge's own pieces (stage stripping, authorizer claims, settings from the environment).

// Test helpers outside #[test] functions unwrap too: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

mod built_ins;
mod claims;
mod gateway_events;
#[cfg(target_os = "linux")]
mod linking;
mod normaliser_events;
mod poller_events;
mod registry_events;
mod settings;
mod stage;
mod support;
