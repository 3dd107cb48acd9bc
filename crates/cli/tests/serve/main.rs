//! End-to-end tests of `switchboard serve`: each test starts the real binary on a free loopback
//! port with its own data directory and talks to it over HTTP, as a user or a provider would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod context;
mod crash;
mod jira;
mod lifecycle;
mod natives;
mod polling;
mod walkthrough;
mod webhooks;
