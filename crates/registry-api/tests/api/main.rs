//! Registry API integration tests: one binary, an isolated SQLite world per test.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod access;
mod builtins;
mod context;
mod dashboard;
mod descriptors;
mod destinations;
mod examples;
mod health_checks;
mod instances;
mod oauth;
mod openapi;
mod sign_in;
mod signals;
mod support;
