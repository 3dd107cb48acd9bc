//! The core's tests, in one test binary: descriptors (built-in and as authors write them),
//! field mapping, webhook verification, and native connectors behind the connector trait.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod builtin_descriptors;
mod catalogue_signatures;
mod common;
mod descriptor_validation;
mod hydration_validation;
mod instance_values;
mod mapping;
mod native_connector;
mod polling_validation;
mod projected_mapping;
mod subscription_validation;
mod token_verification;
mod webhook_delivery_ids;
mod webhook_families;
mod webhook_never_panics;
mod webhook_presets;
mod webhook_providers;
mod webhook_spec_validation;
