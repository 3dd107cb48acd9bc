//! Shared setup: the connector with or without the poll engine, contexts, Jira-shaped issues.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use switchboard_core::{Connector, Descriptor, IngestionKind, MapContext};
use switchboard_natives::jira;
use switchboard_poll::{EgressAllow, PollEngine, PollOptions};

/// The shipped descriptor, minus its host allowlist (the fake listens on 127.0.0.1).
pub fn descriptor() -> Arc<Descriptor> {
    let mut model: Value = serde_json::from_str(jira::DESCRIPTOR_JSON).expect("json");
    model.as_object_mut().expect("object").remove("allowedHosts");
    Arc::new(Descriptor::from_value(&model, "jira.json").unwrap_or_else(|e| panic!("{e}")))
}

/// The connector polling through a real engine that may reach the loopback fake.
pub fn polling_connector() -> Arc<dyn Connector> {
    let options = PollOptions { egress: EgressAllow::parse("127.0.0.1").expect("allow"), ..PollOptions::default() };
    let engine = PollEngine::new(options).expect("engine");
    jira::factory(descriptor(), Some(Arc::new(engine)))
}

/// The connector as the gateway and the normaliser hold it: no poll driver.
pub fn webhook_connector() -> Arc<dyn Connector> {
    jira::factory(descriptor(), None)
}

/// A fixed receive time, so snapshots are stable.
pub fn received_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z").expect("time").with_timezone(&Utc)
}

/// A mapping context for `ingestion`.
pub fn ctx<'a>(
    ingestion: IngestionKind,
    event_type: Option<&'a str>,
    config: Option<&'a BTreeMap<String, String>>,
) -> MapContext<'a> {
    MapContext { connector_id: jira::ID, project_id: "p1", ingestion, event_type, received_at: received_at(), config }
}

/// A fixture of `tests/fixtures/jira/`, as text.
pub fn fixture_text(file: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/jira").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A user in Jira's shape.
pub fn user(name: &str) -> Value {
    json!({"accountId": format!("id-{name}"), "displayName": name, "active": true})
}

/// An issue as `/search/jql` returns it with `expand=changelog` (Jira's documented shape).
pub fn issue(id: &str, key: &str, created: &str, updated: &str, histories: Value, comments: Value) -> Value {
    json!({
        "id": id,
        "key": key,
        "self": format!("https://example.atlassian.net/rest/api/3/issue/{id}"),
        "fields": {
            "summary": format!("Checkout fails for {key}"),
            "status": {"name": "In Progress"},
            "priority": {"name": "High"},
            "reporter": user("Rita Reporter"),
            "assignee": user("Ann Assignee"),
            "created": created,
            "updated": updated,
            "project": {"key": "PROJ"},
            "issuetype": {"name": "Bug"},
            "labels": ["checkout"],
            "comment": {"comments": comments, "maxResults": 50, "total": 1, "startAt": 0}
        },
        "changelog": {"startAt": 0, "maxResults": 100, "total": 1, "histories": histories}
    })
}

/// A changelog history.
pub fn history(id: &str, created: &str, field: &str, from: &str, to: &str) -> Value {
    json!({"id": id, "author": user("Carl Changer"), "created": created,
           "items": [{"field": field, "fieldtype": "jira", "fieldId": field, "from": null, "fromString": from, "to": null, "toString": to}]})
}

/// A comment.
pub fn comment(id: &str, created: &str, text: &str) -> Value {
    json!({"id": id, "author": user("Cora Commenter"), "created": created, "updated": created,
           "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}})
}
