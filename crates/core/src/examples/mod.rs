//! Running a descriptor's `examples`: each payload goes through the same steps a delivery or a
//! polled page takes (for a webhook: handshake, then the event type from `eventType`, the
//! headers or the payload, then the mapping), and the outcome is compared with the example's
//! expectation ([`compare`]). The mapping itself is the descriptor's; nothing here maps.

pub mod compare;
mod observed;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::Value;

use crate::descriptor::Descriptor;
use crate::mapping::MapContext;
use crate::model::{Example, ExampleMode};
use crate::signal::IngestionKind;
use crate::webhook::{HandshakeReply, HandshakeRequest, Headers, WebhookEvent};
pub use compare::Mismatch;
pub use observed::Observed;
use observed::text;

/// The project id written into the signals of examples (their `projectId`, and part of `id`).
pub const EXAMPLE_PROJECT: &str = "example";

/// The result of one example.
#[derive(Debug, Clone)]
pub struct ExampleRun {
    /// Position in the descriptor's `examples`.
    pub index: usize,
    /// The example's name.
    pub name: String,
    /// Whether it passed, how it failed, or why it could not run.
    pub outcome: ExampleOutcome,
}

/// How an example ended.
#[derive(Debug, Clone)]
pub enum ExampleOutcome {
    /// The mapping gave what the example expects.
    Passed(Observed),
    /// The mapping gave something else: every difference, and what it gave.
    Failed {
        /// Each difference, with the JSON pointer of the expectation it breaks.
        mismatches: Vec<Mismatch>,
        /// What the mapping gave.
        observed: Observed,
    },
    /// The payload could not be read (missing file, not JSON).
    Unreadable(String),
}

impl ExampleRun {
    /// Whether the example passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, ExampleOutcome::Passed(_))
    }
}

/// Runs every example of a descriptor. `base_dir` is the directory of the descriptor file, which
/// `payloadFile`s are relative to (`None` for a descriptor that has no file).
pub fn run_examples(descriptor: &Descriptor, base_dir: Option<&Path>) -> Vec<ExampleRun> {
    descriptor
        .model()
        .examples
        .iter()
        .enumerate()
        .map(|(index, example)| ExampleRun {
            index,
            name: example.name.clone(),
            outcome: match load_payload(example, base_dir) {
                Err(reason) => ExampleOutcome::Unreadable(reason),
                Ok(payload) => {
                    let observed = observe(descriptor, example, &payload);
                    let mismatches = compare::compare(&example.expect, &observed, &format!("/examples/{index}/expect"));
                    if mismatches.is_empty() {
                        ExampleOutcome::Passed(observed)
                    } else {
                        ExampleOutcome::Failed { mismatches, observed }
                    }
                }
            },
        })
        .collect()
}

/// The payload files a descriptor's examples read, resolved against `base_dir` (for watching).
pub fn payload_files(descriptor: &Descriptor, base_dir: &Path) -> BTreeSet<PathBuf> {
    descriptor.model().examples.iter().filter_map(|e| e.payload_file.as_ref()).map(|f| base_dir.join(f)).collect()
}

fn load_payload(example: &Example, base_dir: Option<&Path>) -> Result<Value, String> {
    if let Some(payload) = &example.payload {
        return Ok(payload.clone());
    }
    let Some(file) = &example.payload_file else {
        return Err("the example has no payload".to_owned());
    };
    let Some(base_dir) = base_dir else {
        return Err(format!("payloadFile {file:?}: the descriptor has no file it could be relative to"));
    };
    let path = base_dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("payloadFile {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("payloadFile {} is not valid JSON: {e}", path.display()))
}

/// Maps the payload as the connector would receive it.
fn observe(descriptor: &Descriptor, example: &Example, payload: &Value) -> Observed {
    let mode = example.mode_for(descriptor.model().ingestion.supported_modes());
    let ingestion = match mode {
        ExampleMode::Webhook => IngestionKind::Webhook,
        ExampleMode::Polling => IngestionKind::Polling,
    };
    // An example runs as an instance that keeps every config default.
    let config = descriptor.effective_config(&std::collections::BTreeMap::new());
    let ctx = MapContext {
        connector_id: descriptor.id(),
        project_id: EXAMPLE_PROJECT,
        ingestion,
        event_type: None,
        received_at: Utc::now(),
        config: Some(&config),
    };
    let report = match (mode, descriptor.webhook()) {
        (ExampleMode::Webhook, Some(webhook)) => {
            let headers = Headers::new(example.headers.iter());
            let request = HandshakeRequest { headers: &headers, query: &[], payload: Some(payload) };
            if let Some(reply) = webhook.handshake_reply(&request, true) {
                return Observed::ignored_for(format!(
                    "a handshake: the webhook endpoint answers it ({}) and maps nothing",
                    describe_reply(&reply)
                ));
            }
            let event = match &example.event_type {
                Some(given) => webhook.judge(Some(given.clone())),
                None => webhook.event(&Headers::new(example.headers.iter()), payload),
            };
            match event {
                WebhookEvent::Handled(event_type) => {
                    descriptor.map(payload, &MapContext { event_type: event_type.as_deref(), ..ctx })
                }
                WebhookEvent::Ignored { reason, .. } => return Observed::ignored_for(reason),
            }
        }
        _ => descriptor.map(payload, &ctx),
    };
    match report {
        Ok(report) => Observed::from_report(&report),
        Err(error) => Observed { errors: vec![error.to_string()], ..Observed::default() },
    }
}

/// What the webhook endpoint answers to a handshake, in words (an HMAC challenge's answer
/// needs the instance's secret, so only its shape is named).
fn describe_reply(reply: &HandshakeReply) -> String {
    match reply {
        HandshakeReply::Echo(answer) => text(answer),
        HandshakeReply::Header { name, .. } => format!("the {name} header echoed"),
        HandshakeReply::Challenge(challenge) => {
            format!("an HMAC of the token with the `{}` credential", challenge.secret_field())
        }
        HandshakeReply::Confirm { url } => format!("the subscription confirmed by GET {url}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A webhook connector (event type in the `X-Kind` header or at `$.kind`) with `examples`.
    fn descriptor(examples: Value) -> Result<Descriptor, crate::DescriptorError> {
        let doc = json!({
            "id": "hooks", "name": "Hooks", "description": "d", "category": "custom", "icon": "box",
            "kind": "generic", "auth": {"method": "none"},
            "ingestion": {"mode": "webhook", "eventTypes": ["created"], "eventTypePath": "$.kind",
                "eventTypeHeader": "X-Kind", "verification": "none",
                "handshakes": [{"when": {"when": "$.challenge", "operator": "exists"},
                    "respondWithPath": "$.challenge", "verify": false}]},
            "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.at",
                "summaryTemplate": "{{title}}",
                "signalTypeRules": [{"when": "$.title", "operator": "exists", "then": "thing_created"}]},
            "healthCheck": {"endpoint": "https://x.example/", "method": "GET", "expectStatus": 200, "timeoutMs": 1000},
            "examples": examples,
            "version": "1.0.0"
        });
        Descriptor::from_value(&doc, "test")
    }

    fn outcomes(examples: Value) -> Vec<ExampleRun> {
        run_examples(&descriptor(examples).unwrap_or_else(|e| panic!("{e}")), None)
    }

    const CREATED: &str = r#"{"kind": "created", "id": 7, "at": "2024-05-01T10:00:00Z", "title": "Hello"}"#;

    fn payload() -> Value {
        serde_json::from_str(CREATED).unwrap_or_default()
    }

    #[test]
    fn a_matching_example_passes_and_a_wrong_one_names_the_field() {
        let runs = outcomes(json!([
            {"name": "ok", "payload": payload(), "expect": {"signals": [{"signalType": "thing_created", "externalId": "7",
                "summary": "Hello", "timestamp": "2024-05-01T10:00:00Z", "projectId": EXAMPLE_PROJECT}]}},
            {"name": "wrong", "payload": payload(), "expect": {"signals": [{"summary": "Bye"}]}}
        ]));
        assert!(runs[0].passed(), "{:?}", runs[0].outcome);
        let ExampleOutcome::Failed { mismatches, .. } = &runs[1].outcome else { panic!("{:?}", runs[1].outcome) };
        assert_eq!(mismatches[0].pointer, "/examples/1/expect/signals/0/summary");
        assert_eq!((mismatches[0].expected.as_str(), mismatches[0].actual.as_str()), ("\"Bye\"", "\"Hello\""));
    }

    #[test]
    fn the_event_type_comes_from_eventtype_then_headers_then_the_payload() {
        let mut other = payload();
        other["kind"] = json!("deleted");
        let runs = outcomes(json!([
            {"name": "payload", "payload": other, "expect": {"ignored": "\"deleted\" is not handled"}},
            {"name": "header wins", "payload": other, "headers": {"x-kind": "created"},
                "expect": {"signals": [{"eventType": "created"}]}},
            {"name": "eventType wins", "payload": payload(), "headers": {"X-Kind": "created"}, "eventType": "deleted",
                "expect": {"ignored": true}}
        ]));
        for run in &runs {
            assert!(run.passed(), "{}: {:?}", run.name, run.outcome);
        }
    }

    #[test]
    fn handshakes_are_ignored_and_errors_are_matched_by_text() {
        let runs = outcomes(json!([
            {"name": "handshake", "payload": {"challenge": "abc"}, "expect": {"ignored": "handshake"}},
            {"name": "no id", "payload": {"kind": "created", "title": "t"}, "expect": {"error": "idPath"}},
            {"name": "no error", "payload": payload(), "expect": {"error": "idPath"}}
        ]));
        assert!(runs[0].passed() && runs[1].passed(), "{runs:?}");
        assert!(!runs[2].passed());
    }

    #[test]
    fn a_payload_file_is_read_relative_to_the_descriptor() {
        let dir = std::env::temp_dir().join(format!("switchboard-examples-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("created.json"), CREATED).unwrap_or_else(|e| panic!("{e}"));
        let d = descriptor(json!([
            {"name": "file", "payloadFile": "created.json", "expect": {"signals": [{"externalId": "7"}]}},
            {"name": "missing", "payloadFile": "gone.json", "expect": {"ignored": true}}
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let runs = run_examples(&d, Some(&dir));
        assert!(runs[0].passed(), "{:?}", runs[0].outcome);
        assert!(matches!(&runs[1].outcome, ExampleOutcome::Unreadable(r) if r.contains("gone.json")), "{runs:?}");
        assert_eq!(payload_files(&d, &dir).len(), 2);
        assert!(matches!(&run_examples(&d, None)[0].outcome, ExampleOutcome::Unreadable(_)));
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn mistakes_in_examples_are_reported_at_their_pointer() {
        let error = descriptor(json!([
            {"name": "a", "payload": {}, "payloadFile": "x.json", "expect": {"ignored": true}},
            {"name": "a", "payload": {}, "mode": "polling", "expect": {"ignored": true, "error": "x"}},
            {"name": "c", "payload": {}, "expect": {"signals": [{"signal_type": "x"}], }},
            {"name": "d", "expect": {"ignored": false}}
        ]))
        .expect_err("four broken examples");
        let found: Vec<String> = error.issues.iter().map(ToString::to_string).collect();
        for expected in [
            "/examples/0: give the payload inline (payload) or in a file (payloadFile), not both",
            "/examples/1/name: \"a\" is already the name of example 0",
            "/examples/1/mode: the connector does not support polling ingestion (its ingestion mode supports webhook only)",
            "/examples/1/expect: give exactly one expectation",
            "/examples/2/expect/signals/0/signal_type: \"signal_type\" is not a signal field",
            "/examples/3: missing the payload",
            "/examples/3/expect/ignored: write true",
        ] {
            assert!(found.iter().any(|f| f.starts_with(expected)), "no {expected:?} in {found:#?}");
        }
    }
}
