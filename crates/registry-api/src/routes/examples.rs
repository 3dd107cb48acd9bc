//! `POST /examples`: runs the examples a descriptor carries (`switchboard test` for one pasted
//! descriptor), so the dashboard's custom-connector page can show them before registering it.
//! Nothing is stored and nothing leaves the process: examples map payloads written inline
//! (`payloadFile`s cannot be read here and are reported as such).

use axum::Json;
use serde::Serialize;
use serde_json::Value;
use switchboard_core::examples::{ExampleOutcome, ExampleRun, Observed, run_examples};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiBytes, parse_json};
use crate::routes::params::{AuthenticatedErrors, BadBody};
use crate::service;

/// What running a descriptor's examples gave.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExamplesReport {
    /// How many examples passed.
    pub passed: usize,
    /// How many failed or could not run.
    pub failed: usize,
    /// Each example, in the descriptor's order.
    pub examples: Vec<ExampleResult>,
}

/// One example's result.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExampleResult {
    /// Position in the descriptor's `examples`.
    pub index: usize,
    /// The example's name.
    pub name: String,
    /// `passed`, `failed` or `unreadable` (its payload could not be read).
    #[schema(pattern = "^(passed|failed|unreadable)$")]
    pub status: String,
    /// Why the payload could not be read (`unreadable` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Each difference from the expectation, at its JSON pointer (`failed` only).
    pub mismatches: Vec<MismatchView>,
    /// What the mapping gave: signal types and external ids, ignored reasons, errors.
    pub observed: String,
}

/// One difference between what an example expects and what the mapping gave.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MismatchView {
    /// The JSON pointer of the expectation, e.g. `/examples/0/expect/signals/0/signalType`.
    pub pointer: String,
    /// What the example expects.
    pub expected: String,
    /// What the mapping gave.
    pub actual: String,
}

impl From<ExampleRun> for ExampleResult {
    fn from(run: ExampleRun) -> Self {
        let (status, reason, mismatches, observed) = match run.outcome {
            ExampleOutcome::Passed(observed) => ("passed", None, Vec::new(), observed),
            ExampleOutcome::Failed { mismatches, observed } => ("failed", None, mismatches, observed),
            ExampleOutcome::Unreadable(reason) => ("unreadable", Some(reason), Vec::new(), Observed::default()),
        };
        Self {
            index: run.index,
            name: run.name,
            status: status.to_owned(),
            reason,
            mismatches: mismatches
                .into_iter()
                .map(|m| MismatchView { pointer: m.pointer, expected: m.expected, actual: m.actual })
                .collect(),
            observed: observed.to_string(),
        }
    }
}

/// Runs the examples of the descriptor in the body (validated first; nothing is stored).
#[utoipa::path(post, path = "/examples", tag = "catalogue",
    request_body(content = Object, description = "A connector descriptor with `examples` (see `descriptors/descriptor.schema.json`)"),
    responses(
        (status = 200, description = "Each example's result", body = ExamplesReport),
        BadBody,
        AuthenticatedErrors,
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn run_descriptor_examples(
    _caller: Caller,
    ApiBytes(body): ApiBytes,
) -> Result<Json<ExamplesReport>, ApiError> {
    let value: Value = parse_json(&body)?;
    let descriptor = service::connectors::validate(&value, None)?;
    let examples: Vec<ExampleResult> = run_examples(&descriptor, None).into_iter().map(ExampleResult::from).collect();
    let passed = examples.iter().filter(|e| e.status == "passed").count();
    Ok(Json(ExamplesReport { passed, failed: examples.len() - passed, examples }))
}
