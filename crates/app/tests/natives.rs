//! The assembly registers the native connectors' descriptors at start-up beside the built-in
//! ones (what `serve` and the registry Lambda run once), so they are listed as `kind: native`
//! built-ins and instances are created through the same API.

use switchboard_app::{App, Settings};
use switchboard_core::builtin::BUILT_IN;
use switchboard_core::model::ConnectorKind;
use switchboard_embedded::Embedded;

#[tokio::test]
async fn start_up_registers_jira_outlook_and_ses_as_native_built_ins_once() {
    let dir = tempfile::tempdir().expect("dir");
    let embedded = Embedded::open(&dir.path().join("switchboard.db")).expect("opens");
    let app = App::assemble(embedded.stores(), Settings::default());

    let first = app.register_built_ins().await.expect("registers");
    assert_eq!(first.added.len(), BUILT_IN.len() + 3, "{first:?}");
    for id in ["jira", "outlook", "ses"] {
        assert!(first.added.iter().any(|a| a == id), "{id} registered: {first:?}");
        let record = app.stores().descriptors.get_descriptor(id).await.expect("reads").expect("stored");
        assert!(record.built_in, "{id} is a built-in: it cannot be deleted or replaced");
        assert_eq!(record.descriptor.kind, ConnectorKind::Native, "{id}");
    }
    let again = app.register_built_ins().await.expect("registers");
    assert!(again.added.is_empty() && again.updated.is_empty(), "{again:?}");
    assert_eq!(again.unchanged.len(), BUILT_IN.len() + 3);
}
