//! Every native connector's descriptor validates, is `kind: native` and names an implementation
//! registered under its id.

use switchboard_core::model::ConnectorKind;

#[test]
fn every_native_descriptor_is_valid_native_and_registered() {
    let descriptors = switchboard_natives::descriptors().unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = descriptors.iter().map(|d| d.id()).collect();
    assert_eq!(ids, ["jira", "outlook", "ses"]);
    let models = switchboard_natives::models().unwrap_or_else(|e| panic!("{e}"));
    let validated: Vec<_> = descriptors.iter().map(|d| d.model().clone()).collect();
    assert_eq!(models, validated, "what is registered is what validates");
    let registry = switchboard_natives::registry();
    for descriptor in descriptors {
        assert_eq!(descriptor.model().kind, ConnectorKind::Native, "{}", descriptor.id());
        let id = descriptor.id().to_owned();
        registry.resolve(std::sync::Arc::new(descriptor), None).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}
