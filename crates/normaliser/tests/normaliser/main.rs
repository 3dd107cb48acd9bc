//! Integration tests of the normaliser: each test gets its own SQLite world (registry, dedup,
//! stats, durable queues) through `support::World`.

#![allow(clippy::unwrap_used)]

mod batches;
mod faults;
mod instance_config;
mod send_once;
mod support;
