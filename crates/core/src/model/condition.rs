//! Conditions as authored: a single test of the values at a JSONPath, or an `all` / `any`
//! group. Signal type and priority rules, handshakes, response rules and record filters share
//! them; `crate::mapping::condition` compiles them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A condition: a single test (`when` + `operator` [+ `value`]) or an `all` / `any` group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// JSONPath (relative to the item) tested by `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How the value at `when` is tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    /// Value compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// All of these conditions must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Condition>>,
    /// At least one of these conditions must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Condition>>,
}

/// Comparison operator of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Some matched value equals `value` (strings compare by content, other scalars by their
    /// JSON text, so `"true"` equals `true`).
    Equals,
    /// Some matched string contains `value`, or some matched array has an element equal to it.
    Contains,
    /// The path matches at least one non-null value.
    Exists,
    /// Some matched value (as text) matches the regular expression `value`.
    Matches,
    /// Some matched value equals one of the values in the array `value`.
    In,
}
