//! Shared setup: the connector with or without the poll engine, contexts, fixtures.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use switchboard_core::{Connector, Descriptor, IngestionKind, MapContext};
use switchboard_natives::outlook;
use switchboard_poll::{EgressAllow, PollEngine, PollOptions};

/// The shipped descriptor, minus its host allowlist (the fake listens on 127.0.0.1).
pub fn descriptor() -> Arc<Descriptor> {
    let mut model: Value = serde_json::from_str(outlook::DESCRIPTOR_JSON).expect("json");
    model.as_object_mut().expect("object").remove("allowedHosts");
    Arc::new(Descriptor::from_value(&model, "outlook.json").unwrap_or_else(|e| panic!("{e}")))
}

/// The connector polling through a real engine that may reach the loopback fake.
pub fn polling_connector() -> Arc<dyn Connector> {
    let options = PollOptions { egress: EgressAllow::parse("127.0.0.1").expect("allow"), ..PollOptions::default() };
    outlook::factory(descriptor(), Some(Arc::new(PollEngine::new(options).expect("engine"))))
}

/// The connector as the gateway and the normaliser hold it: no poll driver.
pub fn webhook_connector() -> Arc<dyn Connector> {
    outlook::factory(descriptor(), None)
}

/// A mapping context with a fixed receive time.
pub fn ctx(ingestion: IngestionKind) -> MapContext<'static> {
    let received_at = DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z").expect("time").with_timezone(&Utc);
    MapContext { connector_id: outlook::ID, project_id: "p1", ingestion, event_type: None, received_at, config: None }
}

/// A fixture of `tests/fixtures/outlook/`, as text.
pub fn fixture_text(file: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/outlook").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture as JSON, its Graph links pointing at `base` instead.
pub fn fixture_at(file: &str, base: &str) -> Value {
    let text = fixture_text(file).replace(
        "https://graph.microsoft.com/v1.0/me/mailfolders('AQMkADNkNAAAgEMAAAA')",
        &format!("{base}/v1.0/me/mailFolders/inbox"),
    );
    serde_json::from_str(&text).expect("json")
}
