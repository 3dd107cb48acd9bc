//! The native (Rust) connectors of this build, in the one registry every function and
//! `switchboard serve` resolve `kind: native` descriptors with ([`registry`]).
//!
//! [`jira`] (Jira Cloud) is always registered.
//!
//! Feature `test-connector` adds [`test_connector`] (`native-test`), a native connector the
//! serve and end-to-end tests poll through the real poller; release builds leave it out.

pub mod jira;
#[cfg(feature = "test-connector")]
pub mod test_connector;

use switchboard_core::NativeRegistry;

/// Every native connector compiled into this build, by connector id.
pub fn registry() -> NativeRegistry {
    let mut natives = NativeRegistry::new();
    natives.register(jira::ID, jira::factory);
    #[cfg(feature = "test-connector")]
    natives.register(test_connector::ID, test_connector::factory);
    natives
}
