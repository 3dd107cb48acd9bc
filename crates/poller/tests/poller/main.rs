//! Integration tests of the poller against a fake GitHub issues API (wiremock): each test gets
//! its own SQLite world and API through `support::World`.

#![allow(clippy::unwrap_used)]

mod auth;
mod delivery;
mod lifecycle;
mod resync;
mod safety;
mod scheduling;
mod subscriptions;
mod support;
