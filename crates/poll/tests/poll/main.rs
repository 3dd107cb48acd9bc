//! Polling engine tests against wiremock fakes that behave like the real APIs (one test
//! binary): the engine's features module by module, then every built-in polling connector.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod auth;
mod budgets;
mod builtin;
mod egress;
mod errors;
mod guards;
mod health;
mod hydration;
mod limits;
mod oauth;
mod paging;
mod partitions;
mod responses;
mod retries;
mod strategies;
mod support;
mod token_auth;
