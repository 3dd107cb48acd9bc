//! Examples a descriptor carries (extension): a payload and what mapping it must give, run by
//! `switchboard test`. Examples document and test a descriptor; they never change how it runs.
//!
//! This module holds the authored shape and the checks that need no file system
//! ([`example_issues`]); running them is [`crate::examples`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::issue::Issue;

/// One example: a payload as the connector receives it, and the expected outcome of mapping it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Example {
    /// What the example shows, printed by `switchboard test` (unique within the descriptor).
    pub name: String,
    /// The payload itself: a webhook body or one polled API response. Give this or
    /// `payloadFile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// A JSON file holding the payload, relative to the descriptor file (e.g.
    /// `../tests/fixtures/github-prs/pull_request.opened.json`). Give this or `payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_file: Option<String>,
    /// Which mapping runs: `webhook` or `polling`. Default: `webhook` when the connector
    /// receives webhooks, else `polling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ExampleMode>,
    /// The webhook event type, as the gateway would decide it (e.g. the `X-GitHub-Event`
    /// header's value). Without it the event type comes from `headers`, else from the payload's
    /// `eventTypePath`. Webhook examples only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Request headers of the delivery (e.g. `{"X-GitHub-Event": "pull_request"}`); they give
    /// the event type through `eventTypeHeader`. Signatures are not checked here (see
    /// `switchboard verify`). Webhook examples only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The expected outcome: exactly one of `signals`, `ignored`, `error`.
    pub expect: ExampleExpectation,
}

/// The mapping an example runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExampleMode {
    /// The webhook mapping, after the event type is decided as the gateway decides it.
    Webhook,
    /// The polling mapping, on one API response (`itemsPath` selects its items).
    Polling,
}

impl ExampleMode {
    /// The name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Polling => "polling",
        }
    }
}

/// What mapping an example's payload must give: exactly one of the three fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExampleExpectation {
    /// The signals, in order, each a partial `NormalisedSignal`: only the fields written are
    /// compared (objects such as `raw` field by field), arrays compare as written. The number of
    /// signals must match; items ignored beside them are allowed; a mapping error fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<Vec<Value>>,
    /// No signal and no error, at least one ignored item: `true`, or text that some ignored
    /// item's reason must contain (e.g. `"is not handled"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<IgnoredExpectation>,
    /// Mapping fails: text the error (of the payload, or of some item) must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An `ignored` expectation: any reason, or one containing the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IgnoredExpectation {
    /// `true`: ignored, for whatever reason.
    Any(bool),
    /// Ignored, and some ignored item's reason contains this text.
    Reason(String),
}

/// The top-level fields of a `NormalisedSignal`, the only keys an expected signal may use.
pub const SIGNAL_FIELDS: &[&str] = &[
    "id",
    "source",
    "projectId",
    "externalId",
    "signalType",
    "timestamp",
    "receivedAt",
    "summary",
    "priority",
    "participants",
    "tags",
    "relatedItems",
    "url",
    "ingestion",
    "eventType",
    "raw",
];

/// Which ingestion modes a connector supports (from its `ingestion` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedModes {
    /// It receives webhooks.
    pub webhook: bool,
    /// It polls.
    pub polling: bool,
}

/// Every problem of a descriptor's `examples` that can be seen without reading files: the
/// payload given once, a mode the connector supports, webhook fields only on webhook examples,
/// exactly one expectation, expected signals that name only signal fields, unique names.
pub fn example_issues(examples: &[Example], modes: SupportedModes) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut names = BTreeMap::new();
    for (i, example) in examples.iter().enumerate() {
        let at = format!("/examples/{i}");
        if example.name.trim().is_empty() {
            issues.push(Issue::new(format!("{at}/name"), "must not be empty"));
        } else if let Some(first) = names.insert(example.name.as_str(), i) {
            issues.push(Issue::new(
                format!("{at}/name"),
                format!("{:?} is already the name of example {first}; names must be unique", example.name),
            ));
        }
        match (&example.payload, &example.payload_file) {
            (Some(_), Some(_)) => {
                issues.push(Issue::new(&at, "give the payload inline (payload) or in a file (payloadFile), not both"))
            }
            (None, None) => issues.push(Issue::new(&at, "missing the payload: add payload or payloadFile")),
            (None, Some(file)) if file.trim().is_empty() => {
                issues.push(Issue::new(format!("{at}/payloadFile"), "must name a file, relative to the descriptor"))
            }
            _ => {}
        }
        let mode = example.mode_for(modes);
        let supported = match mode {
            ExampleMode::Webhook => modes.webhook,
            ExampleMode::Polling => modes.polling,
        };
        if !supported {
            issues.push(Issue::new(
                format!("{at}/mode"),
                format!(
                    "the connector does not support {} ingestion (its ingestion mode supports {})",
                    mode.as_str(),
                    modes.describe()
                ),
            ));
        }
        if mode == ExampleMode::Polling {
            if example.event_type.is_some() {
                issues.push(Issue::new(format!("{at}/eventType"), "only webhook examples have an event type"));
            }
            if !example.headers.is_empty() {
                issues.push(Issue::new(format!("{at}/headers"), "only webhook examples have headers"));
            }
        }
        expectation_issues(&example.expect, &format!("{at}/expect"), &mut issues);
    }
    issues
}

impl Example {
    /// The mode the example runs in: its own, else webhook when the connector receives
    /// webhooks, else polling.
    pub fn mode_for(&self, modes: SupportedModes) -> ExampleMode {
        match self.mode {
            Some(mode) => mode,
            None if modes.webhook => ExampleMode::Webhook,
            None => ExampleMode::Polling,
        }
    }
}

impl SupportedModes {
    fn describe(self) -> &'static str {
        match (self.webhook, self.polling) {
            (true, true) => "webhook and polling",
            (true, false) => "webhook only",
            _ => "polling only",
        }
    }
}

fn expectation_issues(expect: &ExampleExpectation, at: &str, issues: &mut Vec<Issue>) {
    let given = [expect.signals.is_some(), expect.ignored.is_some(), expect.error.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        issues.push(Issue::new(
            at,
            "give exactly one expectation: signals (a list of partial signals), ignored (true or a reason) \
             or error (text the error contains)",
        ));
    }
    if let Some(signals) = &expect.signals {
        for (j, signal) in signals.iter().enumerate() {
            let Some(fields) = signal.as_object() else {
                issues
                    .push(Issue::new(format!("{at}/signals/{j}"), "an expected signal is an object of signal fields"));
                continue;
            };
            for key in fields.keys().filter(|k| !SIGNAL_FIELDS.contains(&k.as_str())) {
                issues.push(Issue::new(
                    format!("{at}/signals/{j}/{}", super::issue::escape_pointer(key)),
                    format!("{key:?} is not a signal field (expected one of {})", SIGNAL_FIELDS.join(", ")),
                ));
            }
        }
    }
    if expect.ignored == Some(IgnoredExpectation::Any(false)) {
        issues.push(Issue::new(
            format!("{at}/ignored"),
            "write true (or a reason the ignored item must give); to expect signals use signals",
        ));
    }
    if expect.error.as_deref().is_some_and(|e| e.trim().is_empty()) {
        issues.push(Issue::new(format!("{at}/error"), "write the text the error must contain"));
    }
}
