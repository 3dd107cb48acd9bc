//! The native (Rust) connectors of this build, in the one registry every function and
//! `switchboard serve` resolve `kind: native` descriptors with ([`registry`]), and their
//! descriptors, registered at start-up beside the built-in ones ([`descriptors`]).
//!
//! [`jira`] (Jira Cloud), [`outlook`] (Microsoft Graph mail) and [`ses`] (Amazon SES inbound
//! mail through SNS) are always registered.
//!
//! Feature `test-connector` adds [`test_connector`] (`native-test`), a native connector the
//! serve and end-to-end tests poll through the real poller; release builds leave it out.

pub mod jira;
pub mod outlook;
pub mod ses;
#[cfg(feature = "test-connector")]
pub mod test_connector;

use switchboard_core::model::{ConnectorDescriptor, DescriptorError};
use switchboard_core::{Descriptor, NativeRegistry};

/// Connector id, source path (for validation messages) and JSON of every native descriptor
/// this build registers at start-up.
pub const DESCRIPTORS: &[(&str, &str, &str)] = &[
    (jira::ID, "crates/natives/src/jira/jira.json", jira::DESCRIPTOR_JSON),
    (outlook::ID, "crates/natives/src/outlook/outlook.json", outlook::DESCRIPTOR_JSON),
    (ses::ID, "crates/natives/src/ses/ses.json", ses::DESCRIPTOR_JSON),
];

/// The signal types a native connector emits (its mapping is code, not descriptor rules), for
/// the catalogue; empty for an id that is not a native connector of this build.
pub fn signal_types(connector_id: &str) -> Vec<&'static str> {
    match connector_id {
        jira::ID => jira::change::ChangeKind::ALL.iter().map(|k| k.as_str()).collect(),
        outlook::ID => vec![outlook::message::EMAIL_RECEIVED, outlook::message::EMAIL_FLAGGED],
        ses::ID => vec![ses::mail::EMAIL_RECEIVED],
        _ => Vec::new(),
    }
}

/// Every native connector compiled into this build, by connector id.
pub fn registry() -> NativeRegistry {
    let mut natives = NativeRegistry::new();
    natives.register(jira::ID, jira::factory);
    natives.register(outlook::ID, outlook::factory);
    natives.register(ses::ID, ses::factory);
    #[cfg(feature = "test-connector")]
    natives.register(test_connector::ID, test_connector::factory);
    natives
}

/// The descriptors of [`DESCRIPTORS`], validated. The assembly registers them ([`models`]) like
/// the built-in descriptors (`switchboard_core::builtin::register_descriptors`), so the natives
/// are listed by `GET /connectors` with `kind: native` and instances are created through the
/// same API. The test connector is not among them: tests register it themselves.
pub fn descriptors() -> Result<Vec<Descriptor>, DescriptorError> {
    DESCRIPTORS.iter().map(|(_, source, json)| Descriptor::from_json_str(json, source)).collect()
}

/// The descriptors of [`DESCRIPTORS`] as authored, read but not validated: what registering
/// them needs (`switchboard_core::builtin::built_in_models` says why). `tests/registration.rs`
/// validates each one through [`descriptors`].
pub fn models() -> Result<Vec<ConnectorDescriptor>, DescriptorError> {
    DESCRIPTORS.iter().map(|(_, source, json)| switchboard_core::builtin::read_shipped(json, source)).collect()
}
