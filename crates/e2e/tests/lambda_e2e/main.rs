//! End-to-end: the real function binaries, each under AWS's Lambda Runtime Interface Emulator
//! (the RIE that `sam local invoke` uses), on a table, queues and secrets of their own on the
//! local moto server; and every sample event of `events/` through them.
//!
//! Run with `infra/local/moto.sh cargo test -p switchboard-e2e` (the README's test command runs
//! it with the rest). Without `AWS_ENDPOINT_URL` every test fails with instructions: they never
//! skip, and never run against real AWS.

// Helpers outside #[test] functions unwrap too: a broken setup is a failed test.
#![allow(clippy::unwrap_used)]

mod binaries;
mod checkpoint_trap;
mod events;
mod function;
mod github;
mod natives;
mod polling;
mod rie;
mod samples;
mod webhooks;
mod world;
