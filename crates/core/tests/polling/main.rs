//! Polling engine tests against wiremock fakes that behave like the real APIs.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod auth;
mod errors;
mod guards;
mod health;
mod oauth;
mod retries;
mod strategies;
mod support;
