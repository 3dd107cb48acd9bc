//! The Lambda edge: the only crate that knows Switchboard runs in AWS Lambda.
//!
//! It holds the four functions (`src/bin/`, named after their SAM resources' binaries in
//! `template.yaml`) and everything they share: settings from the environment ([`settings`]),
//! the SDK configuration, stores and queues of a cold start, each SDK client built on its first
//! use ([`cold_start`]), logging through `lambda_runtime` ([`logging`]), the translation of API
//! Gateway ([`api_gateway`]), SQS ([`sqs`], [`poll_now`]) and EventBridge ([`schedule`]) events into calls on
//! the application libraries, the one retry-class → `Diagnostic` mapping ([`diagnostic`]), and
//! the registry's registration of the built-in connectors on its first request ([`built_ins`]). The
//! applications themselves are built by `switchboard-app`, exactly as `switchboard serve`
//! builds them.

pub mod api_gateway;
pub mod built_ins;
pub mod cold_start;
pub mod diagnostic;
pub mod logging;
pub mod poll_now;
pub mod schedule;
pub mod settings;
pub mod sqs;

pub use cold_start::ColdStart;
