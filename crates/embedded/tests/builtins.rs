//! Built-in descriptors are registered at start-up and only rewritten when their version changes.

use switchboard_core::builtin::{BUILT_IN, register_built_ins};
use switchboard_embedded::Embedded;

#[tokio::test]
async fn built_ins_are_added_once_and_updated_when_their_version_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Embedded::open(&dir.path().join("switchboard.db")).expect("opens");
    let registry = db.stores().descriptors;

    let first = register_built_ins(registry.as_ref()).await.expect("registers");
    assert_eq!(first.added.len(), BUILT_IN.len());

    let again = register_built_ins(registry.as_ref()).await.expect("registers");
    assert_eq!((again.added.len(), again.updated.len()), (0, 0));
    assert_eq!(again.unchanged.len(), BUILT_IN.len());

    // An older stored version is replaced by the shipped one.
    let mut stored = registry.get_descriptor("github-prs").await.expect("reads").expect("present").descriptor;
    stored.version = "0.9.0".to_owned();
    registry.update_descriptor(&stored).await.expect("updates");
    let upgraded = register_built_ins(registry.as_ref()).await.expect("registers");
    assert_eq!(upgraded.updated, vec!["github-prs".to_owned()]);
    let now = registry.get_descriptor("github-prs").await.expect("reads").expect("present");
    assert!(now.built_in);
    assert_ne!(now.descriptor.version, "0.9.0");
}
