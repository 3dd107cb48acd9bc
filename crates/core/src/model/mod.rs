//! The authored connector descriptor, the bottom layer of the core: its serde shape
//! ([`ConnectorDescriptor`], the webhook [`VerificationSpec`]), its JSON Schema ([`schema`]) and
//! the [`Issue`]s a descriptor can have.
//!
//! Nothing here compiles or runs anything, and nothing here imports from the rest of the crate
//! except the JSONPath parser the schema check uses: mapping, webhook verification and the
//! polling plan each compile their own section of this model, and
//! [`crate::descriptor::Descriptor`] assembles them.

mod auth;
mod condition;
mod connector;
mod example;
mod fields;
mod handshake;
mod hydration;
mod issue;
mod partitions;
mod polling;
pub mod schema;
mod signature_family;
mod subscription;
mod verification;

pub use auth::*;
pub use connector::*;
pub use example::{
    Example, ExampleExpectation, ExampleMode, IgnoredExpectation, SIGNAL_FIELDS, SupportedModes, example_issues,
};
pub use fields::{ConfigField, CredentialField, FieldType};
pub use handshake::HandshakeAnswer;
pub use hydration::Hydration;
pub use issue::{DescriptorError, Issue, escape_pointer};
pub use partitions::{ConfigPartitions, PartitionSource, PartitionsDescriptor, RequestPartitions};
pub use polling::*;
pub use signature_family::{JwtSpec, RsaAlgorithm, RsaSpec};
pub use subscription::{
    SubscriptionCreate, SubscriptionDescriptor, SubscriptionMethod, SubscriptionRenew, SubscriptionRequest,
    SubscriptionSpec,
};
pub use verification::{
    HmacAlgorithm, SchemeKind, SecretEncoding, SignatureEncoding, SignatureFormat, VerificationSpec,
};
