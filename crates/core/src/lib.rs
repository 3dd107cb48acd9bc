//! Switchboard's engine: connector descriptors and their validation, RFC 9535 JSONPath field
//! mapping into `NormalisedSignal`, webhook verification described as data, the polling engine,
//! and the connector trait shared by generic and native connectors.
//!
//! This crate has no AWS SDK and no Lambda runtime dependency; adapters live in other crates.

pub mod builtin;
pub mod catalog;
pub mod connector;
pub mod descriptor;
pub mod envelope;
pub mod jsonpath;
pub mod mapping;
pub mod poll;
pub mod ports;
pub mod retry_class;
pub mod signal;
pub mod template;
pub mod webhook;

pub use connector::{Connector, GenericConnector, NativeRegistry};
pub use descriptor::{Descriptor, DescriptorError, Issue};
pub use mapping::{MapContext, MapReport};
pub use poll::{PollEngine, PollError};
pub use signal::{IngestionKind, NormalisedSignal};
