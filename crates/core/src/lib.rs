//! Switchboard's core, layered by job (each layer imports only from the ones above it here):
//!
//! 1. [`model`]: the authored descriptor (serde shape, JSON Schema, issues); with the
//!    [`jsonpath`] and [`template`] compilers and the [`signal`] type it is the bottom layer.
//! 2. [`mapping`] (field mapping into `NormalisedSignal`), [`webhook`] (verification and the
//!    webhook section) and [`polling`] (the polling plan and the types of a run) each compile
//!    their own section of the model.
//! 3. [`descriptor`]: the compiled [`Descriptor`], assembled from those sections.
//! 4. [`connector`] (one runtime face per connector, generic or native), [`catalog`] (the one
//!    place stored descriptors are compiled), [`builtin`] and [`examples`] (running a
//!    descriptor's examples), [`subscriptions`] (the life of a managed webhook subscription),
//!    [`catalogue_table`] (the catalogue as a Markdown table), [`health_notice`] (the
//!    `connector_health` signal of an instance that starts failing, needs re-authorising or
//!    recovers), [`sync_schedule`] (when an instance is polled next, its interval's bounds) and
//!    [`context`] (the groups of a reference key's context packet).
//!
//! [`ids`] ([`ConnectorId`], [`ProjectId`]) sits at the bottom beside [`model`]; [`ports`]
//! (storage and queue traits), [`envelope`] and [`retry_class`] sit beside the layers.
//!
//! This crate has no AWS SDK, no Lambda runtime and no HTTP client: adapters and the HTTP
//! polling engine (`switchboard-poll`) live in other crates.

pub mod builtin;
pub mod catalog;
pub mod catalogue_table;
pub mod connector;
pub mod context;
pub mod descriptor;
pub mod envelope;
pub mod examples;
pub mod health_notice;
pub mod hosts;
pub mod ids;
pub mod jsonpath;
pub mod mapping;
pub mod model;
pub mod pattern;
pub mod polling;
pub mod ports;
pub mod retry_class;
pub mod scaffold;
pub mod signal;
pub mod subscriptions;
pub mod sync_schedule;
pub mod template;
pub mod webhook;

pub use connector::{Connector, GenericConnector, NativeRegistry, PollDriver};
pub use descriptor::Descriptor;
pub use ids::{ConnectorId, IdError, ProjectId};
pub use mapping::{MapContext, MapReport};
pub use model::{DescriptorError, Issue};
pub use polling::{PollError, PollRequest};
pub use signal::{IngestionKind, NormalisedSignal};
