//! The native (Rust) connectors of this build, in the one registry every function and
//! `switchboard serve` resolve `kind: native` descriptors with ([`registry`]).
//!
//! Feature `test-connector` adds [`test_connector`] (`native-test`), a native connector the
//! serve and end-to-end tests poll through the real poller; release builds leave it out.

#[cfg(feature = "test-connector")]
pub mod test_connector;

use switchboard_core::NativeRegistry;

/// Every native connector compiled into this build, by connector id.
pub fn registry() -> NativeRegistry {
    #[allow(unused_mut)] // Empty unless a feature adds a connector.
    let mut natives = NativeRegistry::new();
    #[cfg(feature = "test-connector")]
    natives.register(test_connector::ID, test_connector::factory);
    natives
}
